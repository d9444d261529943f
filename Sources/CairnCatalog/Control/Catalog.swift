import Foundation
import Logging
import Synchronization
import CairnFormats

/// A database registered with Cairn as the engines see it: where it lives, its repository,
/// and its control file. The control file is read and changed in exactly one way each:
/// `control` is always what its newest valid copy holds (re-read whenever a copy changed on
/// disk), and `transact` changes it under a lock that serialises every thread and process.
package final class Catalog: Sendable {
    package let databasePath: String
    package let layout: RepositoryLayout
    private let store: Mutex<ControlFileStore>
    private let waitPolicy: Mutex<LockWaitPolicy>
    private let fetcher = Mutex<(any BackupFileFetcher)?>(nil)
    private let copies = Mutex<[UInt64: String]>([:])
    package let logger: Logger

    /// Downloads backup files on first use (a repository staged from a remote); nil: every
    /// file is in the repository directory.
    package var backupFileFetcher: (any BackupFileFetcher)? {
        get { fetcher.withLock { $0 } }
        set { fetcher.withLock { $0 = newValue } }
    }

    /// Directories holding good copies of backups whose files in the repository are damaged
    /// (downloaded from a remote during a restore), by backup id.
    package var backupCopies: [UInt64: String] {
        get { copies.withLock { $0 } }
        set { copies.withLock { $0 = newValue } }
    }

    /// Where backup `r`'s files are read from.
    package func backupDirectory(_ r: BackupRecord) -> String { backupCopies[r.id] ?? layout.root + "/" + r.directory }

    /// How long this database's commands wait for locks other Cairn commands hold.
    package var lockWait: LockWaitPolicy {
        get { waitPolicy.withLock { $0 } }
        set { waitPolicy.withLock { $0 = newValue } }
    }

    /// The control file as its newest valid copy holds it.
    package var control: ControlFile { store.withLock { s in s.refresh(); return s.content } }
    /// The control file as this catalog last read or wrote it, without looking at the copies
    /// on disk: for a caller that just looked (`control`, `controlUSN`) and reads settings
    /// again within the same moment (capture's round looks once, not at each of its steps).
    package var controlAsLastRead: ControlFile { store.withLock { $0.content } }
    package var dbid: UInt64 { control.dbidValue }
    /// The update sequence number of the control file's newest copy: it changes with every
    /// change of the control file, by any process (looking costs a `stat` of each copy).
    package var controlUSN: UInt64 { store.withLock { s in s.refresh(); return s.usn } }

    /// Applies `change` to the newest control file and writes every copy, holding the
    /// control-file lock throughout (serialised between threads and processes); returns what
    /// `change` returns. Ids are allocated inside it. The repository's catalog follows every
    /// change of what it holds (backups, incarnations, settings, restore points, policy; see
    /// `RepositoryCatalog`) under the same lock.
    /// `leavingAside` (asked after `change`) names control-file copies the update does not
    /// rewrite (see `ControlFileStore.transact`).
    @discardableResult
    package func transact<T: Sendable>(leavingAside: () -> Set<String> = { [] },
                                       _ change: (inout ControlFile) throws(EngineError) -> T) throws(EngineError) -> T {
        let layout = layout, logger = logger
        return try store.withLock { (s: inout ControlFileStore) throws(EngineError) -> T in
            if s.copies.isEmpty { throw .readOnlyCatalog(repository: layout.root) }
            return try s.transact(logger: logger, change, leavingAside: leavingAside) { (before: ControlFile, after: ControlFile, usn: UInt64) throws(EngineError) in
                if RepositoryCatalog(before) != RepositoryCatalog(after) {
                    try RepositoryCatalog.write(after, layout: layout, usn: usn)
                }
            }
        }
    }

    package init(databasePath: String, store: ControlFileStore, logger: Logger) {
        self.databasePath = databasePath
        self.layout = RepositoryLayout(root: store.content.repository)
        self.logger = logger
        self.waitPolicy = Mutex(LockWaitPolicy())
        if !store.copies.isEmpty { Self.registerPermissions(store.content, database: databasePath) }
        if let e = store.content.encryption { layout.registerKeyring(rememberedKeyFile: e.keyFile) }
        self.store = Mutex(store)
    }

    /// Opens the control file of `database` (found beside it, in `repository`, or in the
    /// default repository) and checks that database, control file and repository belong together.
    /// Any name of the database will do (see `DatabaseNames`).
    package static func open(database: String, repository: String? = nil,
                            logger: Logger = Logger(label: "cairn")) throws(EngineError) -> Catalog {
        let db = FileSystem.resolved(database)
        let candidates = DatabaseNames.controlFileCandidates(given: database, repository: repository)
        let store: ControlFileStore
        do throws(EngineError) {
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
            throw .invalidSetting(.repository, value: given.root, problem: "not where \(db) keeps its backups: they are in \(p.layout.root). Give that repository, or none.")
        }
        try p.checkRepositoryIdentity()
        return p
    }

    /// The repository's identity must name the same DBID as the control file.
    func checkRepositoryIdentity() throws(EngineError) {
        guard FileSystem.exists(layout.identityFile) else {
            throw .missingFile(path: layout.identityFile, detail: "the repository of \(databasePath) has no identity file; check that \(layout.root) is the right repository")
        }
        let id = try RepositoryIdentity.read(layout)
        if id.dbid != control.dbid {
            throw .dbidMismatch(database: databasePath, expected: UInt64(id.dbid) ?? 0, found: dbid, file: layout.identityFile)
        }
    }

    package var warnings: [String] { store.withLock { $0.warnings } }
    package var controlCopies: [String] { store.withLock { $0.copies } }

    package var backups: [BackupRecord] { control.backups.sorted { $0.id < $1.id } }

    // MARK: - Restore and validation

    package func record(_ id: UInt64?) throws(EngineError) -> BackupRecord {
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
}
