import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Reads the repositories a remote holds, on a machine that may have nothing else: which
/// databases are there (`cairn list databases --repo URL`), and a local staging copy of one
/// from which to restore (`cairn restore --repo URL`) or rebuild the control file.
package enum RemoteRepositoryReader {
    /// One database's repository at a remote.
    package struct RemoteDatabase: Sendable, Codable, Equatable {
        package let dbid: String
        package let root: String
        package let databaseName: String
        package let databasePath: String?
        package let incarnation: Int?
        package let backups: Int
        package let latestBackupId: UInt64?
        package let latestBackupScn: UInt64?
        package let latestBackupAt: Date?
        /// The repository is encrypted (it has a keyring); without its key the catalog cannot
        /// be read, and `catalogReadable` is false.
        package let encrypted: Bool
        package let catalogReadable: Bool
    }

    /// True when `repo` names remote repositories (an `s3://` URL, or a directory holding
    /// DBID folders rather than a repository of its own).
    package static func isRemote(_ repo: String) -> Bool {
        guard ArchiveDestinations.isLocal(repo) else { return true }
        return FileSystem.isDirectory(repo) && !FileSystem.exists(RepositoryLayout(root: repo).identityFile)
            && FileSystem.list(repo).contains { UInt64($0) != nil && FileSystem.exists(repo + "/" + $0 + "/repository.json") }
    }

    /// The databases under `url`: one folder per DBID, each with its identity and catalog.
    package static func databases(at url: String) throws(EngineError) -> [RemoteDatabase] {
        let remote = ArchiveDestinations.resolve(RemoteRepository.normalized(url))
        var found: [RemoteDatabase] = []
        for dbid in try remote.folders() where UInt64(dbid) != nil {
            let root = remote.folder(dbid)
            let scratch = try Scratch()
            defer { scratch.remove() }
            guard let identity = try? fetchIdentity(root, into: scratch.path) else { continue }
            let encrypted = (try? fetchKeyring(root, into: scratch.path)) == true
            let catalog = try? fetchCatalog(root, into: scratch.path)
            let latest = catalog?.backups?.filter(\.isDatabaseBackup).max { $0.id < $1.id }
            found.append(RemoteDatabase(dbid: dbid, root: root.name, databaseName: identity.databaseName, databasePath: catalog?.databasePath,
                                        incarnation: catalog?.incarnation, backups: catalog?.backups?.count ?? 0,
                                        latestBackupId: latest?.id, latestBackupScn: latest?.scn, latestBackupAt: latest?.completedAt,
                                        encrypted: encrypted, catalogReadable: catalog != nil))
        }
        return found
    }

    /// The one database at `url` (or the one with `dbid`); an error lists them when there are several.
    package static func database(at url: String, dbid: String?) throws(EngineError) -> RemoteDatabase {
        let all = try databases(at: url)
        if let dbid {
            guard let d = all.first(where: { $0.dbid == dbid }) else {
                throw .missingFile(path: RemoteRepository.normalized(url) + "/" + dbid, detail: "no repository of DBID \(dbid) there (found: \(all.map(\.dbid).joined(separator: ", ")))")
            }
            return d
        }
        guard all.count == 1, let only = all.first else {
            if all.isEmpty { throw .missingFile(path: url, detail: "no Cairn repository there (no DBID folder with a repository.json); check the URL and the credentials") }
            throw .invalidArgument("\(url) holds the repositories of \(all.count) databases: \(all.map { "\($0.dbid) (\($0.databaseName))" }.joined(separator: ", ")). Choose one with --dbid.")
        }
        return only
    }

    /// Copies the repository of `database` into `directory` as a repository directory:
    /// identity, catalog, every backup's manifest (and the other files of every backup when
    /// `allBackupFiles`; otherwise a `RemoteBackupFetcher` brings them when used), every
    /// archived-log set whole, and every archived log.
    package static func stage(_ database: RemoteDatabase, into directory: String, allBackupFiles: Bool) throws(EngineError) -> (any BackupFileFetcher)? {
        let root = ArchiveDestinations.resolve(database.root)
        let layout = RepositoryLayout(root: directory)
        try FileSystem.makeDirectories(layout.backupsDirectory)
        _ = try fetchIdentity(root, into: directory)
        try fetchKeyring(root, into: directory)
        let catalog = try fetchCatalog(root, into: directory)
        let fetcher = RemoteBackupFetcher(root: database.root)
        // Every backup folder there, recorded in the catalog copy or not (it may be older).
        let folders = Set(try root.folder("backups").folders().map { "backups/" + $0 } + (catalog.backups ?? []).map(\.directory))
        for dir in folders.sorted() {
            let local = directory + "/" + dir
            try FileSystem.makeDirectories(local)
            do throws(EngineError) {
                try RemoteBackupFetcher.download([BackupManifest.fileName], from: root.folder(dir), into: local)
                let m = try BackupManifest.read(directory: local)
                if allBackupFiles || m.kind == .archivedLogs { try fetcher.fetch(dir, into: directory) }
            } catch {
                // A folder without a good manifest is no backup; the catalog scan says so.
                if case .missingFile = error { continue }
                throw error
            }
        }
        let archive = root.folder("archive")
        try FileSystem.makeDirectories(layout.archiveDirectory)
        let logs = try archive.list().filter { $0.name.hasPrefix("log-") && $0.name.hasSuffix(".clog") }
        try RemoteBackupFetcher.download(logs.map(\.name), from: archive, into: layout.archiveDirectory)
        return allBackupFiles ? nil : fetcher
    }

    static func fetchIdentity(_ root: any ArchiveDestination, into directory: String) throws(EngineError) -> RepositoryIdentity {
        let layout = RepositoryLayout(root: directory)
        try root.fetch((layout.identityFile as NSString).lastPathComponent, to: layout.identityFile)
        return try RepositoryIdentity.read(layout)
    }

    /// The keyring of an encrypted repository (nothing to do for another), registered so the
    /// staged files can be read with the master key given to this process.
    /// Returns whether there is one.
    @discardableResult
    static func fetchKeyring(_ root: any ArchiveDestination, into directory: String) throws(EngineError) -> Bool {
        let layout = RepositoryLayout(root: directory)
        let name = (layout.keyringFile as NSString).lastPathComponent
        guard try root.checkedSize(of: name) != nil else { return false }
        try root.fetch(name, to: layout.keyringFile)
        layout.registerKeyring()
        return true
    }

    /// The catalog copy, checked by size, time and checksum: its size in the listing, its
    /// XXH3 as stored with it at upload and its own document checksum, and its time: it cannot
    /// have been written before the newest backup it records completed (a copy put back from
    /// an older state, or clocks far apart, fail here with the times).
    static func fetchCatalog(_ root: any ArchiveDestination, into directory: String) throws(EngineError) -> RepositoryCatalog {
        let layout = RepositoryLayout(root: directory)
        let path = RepositoryCatalog.path(layout)
        let name = (path as NSString).lastPathComponent
        try root.fetch(name, to: path)
        let listed = try root.list().first { $0.name == name }
        guard let listed, listed.bytes == FileSystem.fileSize(path) else {
            throw .truncated(file: root.name + "/" + name, expected: listed?.bytes ?? 0, actual: FileSystem.fileSize(path) ?? 0)
        }
        let catalog = try RepositoryCatalog.read(layout)
        let newest = (catalog.backups ?? []).map(\.completedAt).max()
        if let written = listed.modifiedAt, let newest, written < newest.addingTimeInterval(-skew) {
            throw .corrupt(file: root.name + "/" + name, offset: nil, detail: "it was stored at \(written), before the newest backup it records completed (\(newest)): it is not the catalog that backup wrote. Run `cairn configure DB remote sync` on the database's machine, or restore from another remote")
        }
        return catalog
    }

    /// Clock difference allowed between the machine that wrote a backup and the object store.
    static let skew: TimeInterval = 300

    /// A private temporary directory.
    struct Scratch {
        let path: String
        init() throws(EngineError) {
            let tmp = String(NSTemporaryDirectory().dropLast())
            Leftovers.removeDead("cairn-remote", in: tmp)
            path = Leftovers.name("cairn-remote", in: tmp)
            if mkdir(path, 0o700) != 0 { throw .fromErrno("create a temporary directory", path, errno) }
        }
        func remove() { FileSystem.removeTree(path) }
    }
}
