import Foundation
import Logging

/// A database registered with Cairn: its control file and repository. The entry point of
/// the library; every CLI command is one call on this type.
public final class ProtectedDatabase: @unchecked Sendable {
    public let databasePath: String
    public let layout: RepositoryLayout
    private var store: ControlFileStore
    private let lock = NSLock()
    let logger: Logger
    /// How long this database's commands wait for locks other Cairn commands hold.
    public var lockWait = LockWaitPolicy()

    public var control: ControlFile { lock.withLock { store.content } }
    public var dbid: UInt64 { control.dbidValue }

    /// Applies `change` to the control file and writes every copy (serialised between threads
    /// and processes). The repository's catalog follows every change of what it holds
    /// (backups, incarnations, settings, restore points, policy; see `RepositoryCatalog`).
    public func updateControl(_ change: (inout ControlFile) throws(CairnError) -> Void) throws(CairnError) {
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
    func reloadControl() {
        lock.withLock { store.reload() }
    }

    init(databasePath: String, store: ControlFileStore, logger: Logger) {
        self.databasePath = databasePath
        self.store = store
        self.layout = RepositoryLayout(root: store.content.repository)
        self.logger = logger
        if !store.copies.isEmpty { Self.registerPermissions(store.content, database: databasePath) }
    }

    // MARK: - Registration

    /// Registers `database`: a random DBID, incarnation 1, WAL mode, the repository and the
    /// multiplexed control file (beside the database, in the repository, and any `extraControlCopies`).
    /// Every path is resolved first (links, `..`), so the database is registered under its one
    /// real name. `fileMode` (nil: follow the database file's) is the mode of every file Cairn creates for it.
    public static func initialize(database: String, repository: String? = nil, extraControlCopies: [String] = [],
                                  redo: RedoOptions = RedoOptions(), fileMode: FileMode? = nil,
                                  logger: Logger = Logger(label: "cairn")) throws(CairnError) -> ProtectedDatabase {
        try redo.validate()
        let db = FileSystem.resolved(database)
        guard FileSystem.exists(db) else { throw .databaseMissing(path: db) }
        _ = try DatabaseHeader.read(db)
        let beside = RepositoryLayout.besideDatabaseControlCopy(forDatabase: db)
        if FileSystem.exists(beside) { throw .alreadyRegistered(database: db, controlFile: beside) }
        let layout = RepositoryLayout(root: repository.map(FileSystem.resolved) ?? RepositoryLayout.defaultRoot(forDatabase: db))
        if FileSystem.exists(layout.identityFile) {
            let other = try RepositoryIdentity.read(layout)
            throw .databaseMismatch(database: db, registered: "DBID \(other.dbid) (\(other.databaseName))", file: layout.identityFile)
        }
        try LiveDatabase.enableWAL(db)

        var dbid: UInt64 = 0
        while dbid == 0 { dbid = UInt64.random(in: 1...UInt64.max) }
        let now = Date()
        var copies = [beside, layout.controlCopy]
        for c in extraControlCopies.map(FileSystem.resolved) where !copies.contains(c) { copies.append(c) }
        var content = ControlFile(
            dbid: String(dbid), databasePath: db, repository: layout.root, controlCopies: copies,
            incarnation: 1, incarnations: [.init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: now)],
            scn: 0, walCursor: nil, nextBackupId: 1, backups: [],
            redo: redo.state(layout: layout),
            createdAt: now, updatedAt: now)
        content.fileMode = fileMode
        registerPermissions(content, database: db)
        try FileSystem.makeDirectories(layout.backupsDirectory)
        try FileSystem.makeDirectories(FileSystem.parent(of: layout.controlCopy))
        try RepositoryIdentity(dbid: String(dbid), databaseName: (db as NSString).lastPathComponent, createdAt: now,
                               createdBy: "cairn " + FormatVersion.release).write(layout)
        var withBaseline = content
        withBaseline.redo.capture = try Self.captureBaseline(database: db, layout: layout, scn: 0, incarnation: 1)
        let store = try ControlFileStore.create(withBaseline)
        try RepositoryCatalog.write(withBaseline, layout: layout)
        try RepositoryOperation.createLockFiles(layout)
        return ProtectedDatabase(databasePath: db, store: store, logger: logger)
    }

    /// Opens the control file of `database` (found beside it, in `repository`, or in the
    /// default repository) and checks that database, control file and repository belong together.
    /// Any name of the database will do (see `DatabaseNames`).
    public static func open(database: String, repository: String? = nil,
                            logger: Logger = Logger(label: "cairn")) throws(CairnError) -> ProtectedDatabase {
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
        let p = ProtectedDatabase(databasePath: db, store: store, logger: logger)
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

    public var warnings: [String] { lock.withLock { store.warnings } }
    public var controlCopies: [String] { lock.withLock { store.copies } }

    // MARK: - Backup

    /// Takes a backup (backup set or image copy; level 0, or level 1 when asked and a base
    /// exists) and records it once verified.
    @discardableResult
    public func backup(_ options: BackupOptions = BackupOptions()) throws(CairnError) -> BackupRecord {
        guard FileSystem.exists(databasePath) else { throw .databaseMissing(path: databasePath) }
        guard (0...1).contains(options.level) else {
            throw .invalidArgument("--level \(options.level) is not a backup level; use 0 (every page) or 1 (pages changed since the last backup).")
        }
        if options.level == 1 && options.asCopy {
            throw .invalidArgument("an image copy holds every page; take it at level 0 (drop --level 1 or --as-copy).")
        }
        if options.cumulative && options.level != 1 {
            throw .invalidArgument("--cumulative applies to level-1 backups; add --level 1.")
        }
        let operation = try beginOperation(.writing, purpose: "take a backup")
        defer { operation.end() }
        _ = try DatabaseHeader.read(databasePath)
        let owner = try claimBackupId()
        defer { owner.release() }
        let id = owner.id
        let c = control
        let engine = BackupEngine(layout: layout, dbid: dbid, logger: logger)
        let t0 = Date()
        func lap(_ what: String) { logger.debug("backup \(id): \(what) in \(Int(Date().timeIntervalSince(t0) * 1000)) ms") }
        try Self.checkArchival(options)
        try recoveryAreaBeforeBackup()
        let source = try snapshotSource(trackChanges: options.level == 1)
        lap("capture state read")
        let plan = options.level == 1 ? try pinnedIncrementalPlan(cumulative: options.cumulative, source: source, operation: operation) : nil
        lap("base chosen")
        let r = try engine.run(owner: owner, database: databasePath, incarnation: c.incarnation, scnAtSnapshot: source.scn,
                               options: options, incremental: plan)
        let m = r.manifest
        let record = BackupRecord(manifest: m, bytes: m.storedBytes + UInt64(FileSystem.fileSize(r.directory + "/" + BackupManifest.fileName) ?? 0),
                                  directory: "backups/" + RepositoryLayout.backupDirectoryName(id))
        try recoveryAreaAfterBackup(directory: r.directory)
        do throws(CairnError) {
            try recordBackup(record, walCursor: r.walCursor)
            lap("recorded")
        } catch {
            // Never leave a backup the control file does not know of.
            FileSystem.removeTree(r.directory)
            throw error
        }
        tidyRecoveryArea()
        return record
    }

    /// The base of a level-1 backup and how to find the changed pages; nil (a level 0 is
    /// taken instead) when no usable base exists.
    func incrementalPlan(cumulative: Bool, source: SnapshotSource) -> IncrementalPlan? {
        let c = control
        let engine = RecoveryEngine(database: self, logger: logger)
        let bases = c.restorableBackups.filter { b in
            (!cumulative || b.level == 0) && !b.isKept() && b.keepUntil == nil
                && engine.place(b.scn, incarnation: b.incarnation) != nil && c.chain(of: b) != nil
        }
        guard let base = bases.max(by: { ($0.scn, $0.id) < ($1.scn, $1.id) }) else {
            logger.notice("no \(cumulative ? "level-0 " : "")backup to base a level 1 on: taking a level-0 backup")
            return nil
        }
        let baseMap: PageMap
        do throws(CairnError) {
            let dir = layout.root + "/" + base.directory
            baseMap = try BackupEngine.readPageMap(directory: dir, manifest: try BackupManifest.read(directory: dir))
        } catch {
            logger.warning("backup \(base.id) cannot be the base of a level 1 (\(error.description)); taking a level-0 backup")
            return nil
        }
        let mode = c.redo.mode
        let incarnation = c.incarnation
        let capturer = source.capturer
        return IncrementalPlan(base: base, baseMap: baseMap, cumulative: cumulative, candidates: { snapshot in
            guard mode == .archivelog else { return nil }
            if let capturer {
                return capturer.map.tracks(since: base.scn) ? capturer.map.changed(after: base.scn) : nil
            }
            guard let persisted = source.persistedMap, persisted.incarnation == incarnation, persisted.map.tracks(since: base.scn),
                  let logged = source.logScan?.pagesIfContinuous() else { return nil }
            var pages = Set(persisted.map.changed(after: base.scn))
            pages.formUnion(logged)
            pages.formUnion(snapshot.scan.latestFrame.keys)
            return pages.sorted()
        }, exactState: { capturer?.map.state })
    }

    private func recordBackup(_ record: BackupRecord, walCursor: ControlFile.WALCursor?) throws(CairnError) {
        try updateControl { (c: inout ControlFile) throws(CairnError) in
            c.backups.append(record)
            c.nextBackupId = max(c.nextBackupId, record.id + 1)
            c.scn = max(c.scn, record.scn)
            if c.redo.mode == .noarchivelog { c.walCursor = walCursor }
        }
    }

    public var backups: [BackupRecord] { control.backups.sorted { $0.id < $1.id } }

    // MARK: - Restore and validation

    func record(_ id: UInt64?) throws(CairnError) -> BackupRecord {
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

    func reader(for r: BackupRecord, showProgress: Bool) throws(CairnError) -> BackupReader {
        try requireDatabaseBackup(r)
        let dir = layout.root + "/" + r.directory
        guard FileSystem.isDirectory(dir) else {
            throw .missingFile(path: dir, detail: "the directory of backup \(r.id) is gone")
        }
        let m = try BackupManifest.read(directory: dir)
        guard m.backupId == r.id, m.stateChecksum == r.stateChecksum, m.scn == r.scn else {
            throw .corrupt(file: dir + "/" + BackupManifest.fileName, offset: nil,
                           detail: "the manifest describes backup \(m.backupId) at SCN \(m.scn), but the control file records backup \(r.id) at SCN \(r.scn)")
        }
        var reader = BackupReader(directory: dir, manifest: m, expectedDbid: dbid)
        reader.showProgress = showProgress
        return reader
    }

    /// Restores backup `id` (default: the latest) as it is, into a new file at `path`.
    @discardableResult
    public func restore(to path: String, backup id: UInt64? = nil, force: Bool = false,
                        showProgress: Bool = isatty(STDERR_FILENO) == 1) throws(CairnError) -> BackupRecord {
        let r = try record(id)
        _ = try recover(to: path, target: .backupOnly, backup: r.id, force: force, showProgress: showProgress)
        return r
    }

    /// Replaces the live database with backup `id` (default: the latest) after verifying it;
    /// a point before the newest opens a new incarnation.
    @discardableResult
    public func restoreInPlace(backup id: UInt64? = nil, showProgress: Bool = isatty(STDERR_FILENO) == 1) throws(CairnError) -> BackupRecord {
        let r = try record(id)
        _ = try recoverInPlace(target: .backupOnly, backup: r.id, showProgress: showProgress)
        return r
    }

    /// Reads and verifies backup `id` (default: the latest) as a restore would, writing nothing.
    public func validateRestore(backup id: UInt64? = nil, showProgress: Bool = isatty(STDERR_FILENO) == 1) throws(CairnError) -> BackupRecord {
        let operation = try beginReadingStoredFiles(purpose: "validate a backup")
        defer { operation.end() }
        let r = try record(id)
        try RestoreEngine(reader: reader(for: r, showProgress: showProgress)).validate()
        return r
    }

    public struct ValidationResult: Sendable, Codable {
        public let id: UInt64
        public let ok: Bool
        public let error: String?
    }

    /// Verifies one backup, or every recorded backup; a failure of one does not stop the others.
    public func validate(backup id: UInt64? = nil, showProgress: Bool = isatty(STDERR_FILENO) == 1) throws(CairnError) -> [ValidationResult] {
        let operation = try beginReadingStoredFiles(purpose: "validate backups")
        defer { operation.end() }
        let targets = id != nil ? [try record(id)] : backups
        if targets.isEmpty { throw .noBackups(database: databasePath) }
        var results: [ValidationResult] = []
        for r in targets {
            do throws(CairnError) {
                if r.kind == .archivedLogs {
                    try validateArchivedLogSet(r)
                } else {
                    try RestoreEngine(reader: reader(for: r, showProgress: showProgress)).validate()
                }
                results.append(ValidationResult(id: r.id, ok: true, error: nil))
            } catch {
                results.append(ValidationResult(id: r.id, ok: false, error: error.description))
            }
        }
        return results
    }
}
