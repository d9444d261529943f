import Foundation
import CairnFormats

/// One database, many names: a relative path, a path through `..`, a symbolic link to the
/// file or to a directory above it all name the same database. Cairn registers a database
/// under its resolved path (`FileSystem.resolved`), so its control file sits beside the real
/// file; databases registered under another name by older releases are still found.
enum DatabaseNames {
    /// Where the control file of the database named `given` may be, most likely first: beside
    /// the real file, in `repository`, in the default repository; then beside the name as
    /// given and beside other links to the file in its directory (older registrations).
    static func controlFileCandidates(given: String, repository: String?) -> [String] {
        let db = FileSystem.resolved(given)
        var out = [RepositoryLayout.besideDatabaseControlCopy(forDatabase: db)]
        if let repository { out.append(RepositoryLayout(root: FileSystem.resolved(repository)).controlCopy) }
        for name in [db, FileSystem.absolute(given)] { addCopies(of: name, to: &out) }
        if !out.contains(where: FileSystem.exists) {
            for name in links(to: db) { addCopies(of: name, to: &out) }
        }
        return out
    }

    /// Whether two paths name the same file (or would, once created).
    static func same(_ a: String, _ b: String) -> Bool {
        FileSystem.resolved(a) == FileSystem.resolved(b)
    }

    /// Other names of `db` in its own directory that have a control file beside them.
    private static func links(to db: String) -> [String] {
        let dir = FileSystem.parent(of: db)
        let suffix = ".cairn-control"
        return FileSystem.list(dir).compactMap { entry in
            guard entry.hasPrefix("."), entry.hasSuffix(suffix), entry.count > suffix.count + 1 else { return nil }
            let name = dir + "/" + entry.dropFirst().dropLast(suffix.count)
            return name != db && FileSystem.resolved(name) == db ? name : nil
        }
    }

    /// The control-file copies of a database registered as `name`: beside it and in its default repository.
    private static func addCopies(of name: String, to list: inout [String]) {
        for path in [RepositoryLayout.besideDatabaseControlCopy(forDatabase: name),
                     RepositoryLayout(root: RepositoryLayout.defaultRoot(forDatabase: name)).controlCopy] where !list.contains(path) {
            list.append(path)
        }
    }
}
