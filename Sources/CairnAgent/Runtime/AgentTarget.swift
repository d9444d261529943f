import Foundation
import CairnFormats

/// One database the agent protects: its file and the configuration entry that names it
/// (directly, or as a match of a `dir:` entry's pattern).
package struct AgentTarget: Sendable, Equatable, Hashable {
    /// The database file, absolute and resolved.
    package let path: String
    package var entry: DatabaseEntry
    /// Its page's name: the file name, made URL-safe, with a short hash of the path for
    /// uniqueness (worked out once: every status request names every database).
    package let id: String

    package init(path: String, entry: DatabaseEntry) {
        self.path = path
        self.entry = entry
        id = Self.id(of: path)
    }

    package static func == (a: AgentTarget, b: AgentTarget) -> Bool { a.path == b.path && a.entry == b.entry }
    package func hash(into h: inout Hasher) { h.combine(path) }

    static func id(of path: String) -> String {
        let name = (path as NSString).lastPathComponent.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" }
        var h: UInt64 = 0xcbf29ce484222325
        for b in path.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(name) + "-" + String(h & 0xffffff, radix: 16)
    }
}

/// Turns the configuration's entries into the databases to protect: `path:` entries as they
/// are, `dir:` entries as every regular file in the directory matching the pattern (not a
/// WAL, index or journal, nor anything Cairn writes). A database named twice is protected once,
/// by the first entry; the second is reported.
package enum TargetResolver {
    package static func resolve(_ entries: [DatabaseEntry]) -> (targets: [AgentTarget], problems: [String]) {
        var targets: [AgentTarget] = []
        var problems: [String] = []
        var firstLine: [String: Int] = [:]
        for entry in entries {
            let (paths, problem) = paths(of: entry)
            if let problem { problems.append(problem) }
            for p in paths {
                if let line = firstLine[p] {
                    problems.append("\(p) is named by the entries at lines \(line) and \(entry.line); it is protected once, as the entry at line \(line) says: remove one of them")
                    continue
                }
                firstLine[p] = entry.line
                targets.append(AgentTarget(path: p, entry: entry))
            }
        }
        return (targets, problems)
    }

    /// What the resolution of `entries` depends on: the entries, where their paths lead, and
    /// each `dir:` entry's directory as it was (inode and times: adding, removing or renaming a
    /// file changes them). Taken before resolving, so a change during a pass is seen at the next.
    package struct Signature: Equatable, Sendable {
        let entries: [DatabaseEntry]
        let places: [String]
        let directories: [[Int64]]

        init(_ entries: [DatabaseEntry]) {
            self.entries = entries
            places = entries.map { ($0.path ?? $0.directory).map(TargetResolver.resolved) ?? "" }
            directories = zip(entries, places).map { entry, dir in
                guard entry.directory != nil else { return [] }
                var st = stat()
                guard stat(dir, &st) == 0 else { return [-1] }
                return [Int64(st.st_dev), Int64(st.st_ino), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec),
                        Int64(st.st_ctim.tv_sec), Int64(st.st_ctim.tv_nsec)]
            }
        }
    }

    static func paths(of entry: DatabaseEntry) -> ([String], String?) {
        if let path = entry.path { return ([resolved(path)], nil) }
        guard let dir = entry.directory else { return ([], nil) }
        let directory = resolved(dir)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return ([], "the directory \(directory) (entry at line \(entry.line)) cannot be read; it is looked at again every few seconds")
        }
        let pattern = entry.pattern ?? "*.db"
        let matches = names.filter { isCandidate($0) && fnmatch(pattern, $0, 0) == 0 }.sorted()
        return (matches.map { directory + "/" + $0 }.filter(isRegularFile), nil)
    }

    /// Not a database's companion file, nor a file Cairn writes beside one.
    static func isCandidate(_ name: String) -> Bool {
        let companions = ["-wal", "-shm", "-journal", ".cairn", ".cairnctl", ".tmp", ".partial"]
        return !name.hasPrefix(".") && !companions.contains { name.hasSuffix($0) }
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func resolved(_ path: String) -> String { FileSystem.resolved(path) }
}
