import Foundation
import Logging
import CairnFormats

/// A database registered with Cairn: its control file and repository. The entry point of
/// the library; every CLI command is one call on this type.
package final class Catalog: @unchecked Sendable {
    package let databasePath: String
    package let layout: RepositoryLayout
    private var store: ControlFileStore
    private let lock = NSLock()
    package let logger: Logger
    /// How long this database's commands wait for locks other Cairn commands hold.
    package var lockWait = LockWaitPolicy()

    package var control: ControlFile { lock.withLock { store.content } }
    package var dbid: UInt64 { control.dbidValue }

    /// Applies `change` to the control file and writes every copy (serialised between threads
    /// and processes). The repository's catalog follows every change of what it holds
    /// (backups, incarnations, settings, restore points, policy; see `RepositoryCatalog`).
    package func updateControl(_ change: (inout ControlFile) throws(CairnError) -> Void) throws(CairnError) {
        lock.lock()
        defer { lock.unlock() }
        if store.copies.isEmpty { throw .readOnlyCatalog(repository: layout.root) }
        let before = RepositoryCatalog(store.content)
        try store.update(logger: logger, change)
        if RepositoryCatalog(store.content) != before {
            try writeCatalog(store)
        }
    }

    /// Re-reads the control file when another process updated it since this one last read
    /// or wrote it (a process that has just taken the capture lock reloads the capture state).
    package func reloadControl() {
        lock.withLock { store.reload() }
    }

    package init(databasePath: String, store: ControlFileStore, logger: Logger) {
        self.databasePath = databasePath
        self.store = store
        self.layout = RepositoryLayout(root: store.content.repository)
        self.logger = logger
        if !store.copies.isEmpty { Self.registerPermissions(store.content, database: databasePath) }
    }

    /// Opens the control file of `database` (found beside it, in `repository`, or in the
    /// default repository) and checks that database, control file and repository belong together.
    /// Any name of the database will do (see `DatabaseNames`).
    package static func open(database: String, repository: String? = nil,
                            logger: Logger = Logger(label: "cairn")) throws(CairnError) -> Catalog {
        let db = FileSystem.resolved(database)
        let candidates = DatabaseNames.controlFileCandidates(given: database, repository: repository)
        let store: ControlFileStore
        do throws(CairnError) {
            store = try ControlFileStore.open(candidates: candidates, repositoryHint: repository ?? RepositoryLayout.defaultRoot(forDatabase: db), logger: logger)
        } catch {
            if case let .notRegistered(_, looked) = error { throw .notRegistered(database: db, looked: looked) }
            throw error
        }
        let c = store.content
        if let f = store.foreignCopies.first {
            throw .dbidMismatch(database: db, expected: UInt64(f.dbid) ?? 0, found: c.dbidValue, file: f.path)
        }
        if !DatabaseNames.same(c.databasePath, db) {
            throw .databaseMismatch(database: db, registered: "\(c.databasePath) (DBID \(c.dbid))", file: store.copies.first ?? "")
        }
        let p = Catalog(databasePath: db, store: store, logger: logger)
        if let repository, !DatabaseNames.same(repository, p.layout.root) {
            let given = RepositoryLayout(root: repository)
            if let other = try? RepositoryIdentity.read(given), other.dbid != c.dbid {
                throw .dbidMismatch(database: db, expected: UInt64(other.dbid) ?? 0, found: c.dbidValue, file: given.identityFile)
            }
            throw .invalidArgument("\(db) keeps its backups in \(p.layout.root), not in \(given.root). Omit --repo or pass --repo \(p.layout.root).")
        }
        try p.checkRepositoryIdentity()
        return p
    }

    /// The repository's identity must name the same DBID as the control file.
    func checkRepositoryIdentity() throws(CairnError) {
        guard FileSystem.exists(layout.identityFile) else {
            throw .missingFile(path: layout.identityFile, detail: "the repository of \(databasePath) has no identity file; check that \(layout.root) is the right repository")
        }
        let id = try RepositoryIdentity.read(layout)
        if id.dbid != control.dbid {
            throw .dbidMismatch(database: databasePath, expected: UInt64(id.dbid) ?? 0, found: dbid, file: layout.identityFile)
        }
    }

    package var warnings: [String] { lock.withLock { store.warnings } }
    package var controlCopies: [String] { lock.withLock { store.copies } }

    package var backups: [BackupRecord] { control.backups.sorted { $0.id < $1.id } }

    // MARK: - Restore and validation

    package func record(_ id: UInt64?) throws(CairnError) -> BackupRecord {
        if let id {
            guard let r = control.backups.first(where: { $0.id == id }) else { throw .backupNotFound(id: id, repository: layout.root) }
            return r
        }
        let usable = control.restorableBackups
        guard let latest = usable.filter({ $0.incarnation == control.incarnation }).max(by: { $0.id < $1.id })
                ?? usable.max(by: { $0.id < $1.id }) else {
            throw .noBackups(database: databasePath)
        }
        return latest
    }

    /// True when this database was opened from its repository alone (nothing is ever written).
    package var isRepositoryAlone: Bool { controlCopies.isEmpty }

    /// Rewrites the repository's catalog from the newest control file, under the control-file
    /// lock, so two processes that change the catalog one after the other can never leave
    /// the older view in the repository.
    func writeCatalog(_ store: ControlFileStore) throws(CairnError) {
        let lock = try ControlFileLock(path: store.lockPath)
        defer { lock.release() }
        let newest = ControlFileStore.newestCopy(store.copies)
        let content = newest.map { $0.usn >= store.usn ? $0.content : store.content } ?? store.content
        try RepositoryCatalog.write(content, layout: layout, usn: max(newest?.usn ?? 0, store.usn))
    }
}
