import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    // MARK: - Backup

    /// Takes a backup (backup set or image copy; level 0, or level 1 when asked and a base
    /// exists) and records it once verified; then checks the earlier sets the periodic
    /// integrity check has due (the new set was just verified as it was written).
    ///
    /// The checks run inside the backup's operation on the repository. Between two operations
    /// a `restore --in-place` could take the repository and then wait for this process to
    /// close the database, while the checks waited for the repository: neither would end.
    @discardableResult
    package func backup(_ options: BackupOptions = BackupOptions()) throws(EngineError) -> BackupRecord {
        try checkBackupRequest(options)
        let operation = try beginOperation(.writing, purpose: "take a backup")
        defer { operation.end() }
        let record = try takeBackup(options, in: operation)
        runDueIntegrityChecks(now: options.integrityCheckAt ?? Date(), restore: options.integrityCheckRestores,
                              excluding: record.id, monitor: options.monitor)
        return record
    }

    /// The database exists and the options fit together.
    private func checkBackupRequest(_ options: BackupOptions) throws(EngineError) {
        guard FileSystem.exists(databasePath) else { throw .databaseMissing(path: databasePath) }
        guard (0...1).contains(options.level) else {
            throw .invalidSetting(.backupLevel, value: "\(options.level)", problem: "not a backup level; use 0 (every page) or 1 (pages changed since the last backup).")
        }
        if options.level == 1 && options.asCopy {
            throw .invalidSetting(.imageCopy, value: "", problem: "an image copy holds every page; take it at level 0.")
        }
        if options.cumulative && options.level != 1 {
            throw .invalidSetting(.cumulative, value: "", problem: "applies to level-1 backups only.")
        }
    }

    /// Takes the backup, inside `operation` (which pins a level 1's base chain).
    private func takeBackup(_ options: BackupOptions, in operation: RepositoryOperation) throws(EngineError) -> BackupRecord {
        _ = try DatabaseHeader.read(databasePath)
        let owner = try claimBackupId()
        defer { owner.release() }
        let id = owner.id
        let c = control
        let engine = BackupEngine(layout: layout, dbid: dbid, logger: logger, keys: try layout.writingKeys(c.encryption))
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
        do throws(EngineError) {
            try recordBackup(record, walCursor: r.walCursor)
            lap("recorded")
        } catch {
            // Never leave a backup the control file does not know of.
            FileSystem.removeTree(r.directory)
            throw error
        }
        tidyRecoveryArea()
        shipToRemotes(after: "backup \(id)", monitor: options.monitor)
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
        do throws(EngineError) {
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
            let pages = persisted.map.changed(after: base.scn)
            for p in logged { pages.insert(p) }
            for p in snapshot.scan.latestFrame.keys { pages.insert(p) }
            return pages
        }, exactState: { capturer?.map.state })
    }

    private func recordBackup(_ record: BackupRecord, walCursor: ControlFile.WALCursor?) throws(EngineError) {
        try transact { (c: inout ControlFile) throws(EngineError) in
            c.backups.append(record)
            c.nextBackupId = max(c.nextBackupId, record.id + 1)
            c.scn = max(c.scn, record.scn)
            if c.redo.mode == .noarchivelog { c.walCursor = walCursor }
        }
    }
}
