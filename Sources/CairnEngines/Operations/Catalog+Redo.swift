import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    /// The capture point of a database as it is now: every page hashed into the page map
    /// (written to the repository) at the current end of the WAL.
    static func captureBaseline(database: String, layout: RepositoryLayout, scn: UInt64, incarnation: Int,
                                keys: UnlockedKeyring? = nil) throws(EngineError) -> RedoState.CapturePoint {
        let snapshot = try DatabaseSnapshot(databasePath: database)
        defer { snapshot.close() }
        var map = try snapshot.pageMap()
        map.resetTracking(at: scn)
        try FileSystem.makeDirectories(layout.captureDirectory)
        try map.write(to: layout.pageMapFile, scn: scn, incarnation: incarnation, keys: keys)
        return .init(scn: scn, incarnation: incarnation, position: snapshot.position, stateChecksum: Hash.hex(map.state))
    }

    // MARK: - Capture and archive

    /// Takes the capture lock or says who holds it.
    func captureLock() throws(EngineError) -> CaptureLock {
        guard let lock = try CaptureLock(path: layout.captureLockFile) else {
            throw .captureRunning(pid: CaptureLock.holder(path: layout.captureLockFile), lockFile: layout.captureLockFile)
        }
        return lock
    }

    package struct ArchiveReport: Sendable, Codable {
        package var captured: Int
        package var scn: UInt64
        package var archivedScn: UInt64
        package var sequence: UInt64
        package var copies: Int
        package var failures: [String]
    }

    /// `cairn archive --once`: captures what is committed now, closes the log, archives every
    /// closed log, and checkpoints the WAL.
    package func archiveOnce(switchLog: Bool = true) throws(EngineError) -> ArchiveReport {
        try requireArchiveLog()
        let lock = try captureLock()
        defer { _ = lock }
        let capturer = try Capturer(database: self, logger: logger)
        let archiver = Archiver(database: self, logger: logger)
        var copies = 0
        // When every group waits for archiving, archive and go on; stop if that frees nothing.
        while true {
            do throws(EngineError) {
                try capturer.step()
                break
            } catch {
                guard case .captureStalled = error else { throw error }
                let made = archiver.archivePending(force: true)
                copies += made
                if made == 0 { throw error }
            }
        }
        if switchLog { try capturer.switchLog() }
        copies += archiver.archivePending(force: true)
        _ = try? capturer.checkpoint()
        try capturer.stop()
        let shipped = shipToRemotes(after: "the archived logs")
        let c = control
        let failures = c.redo.logs.flatMap { l in l.destinations.filter { $0.state == .failed }.map { "sequence \(l.sequence) → \($0.destination): \($0.error ?? "")" } }
            + shipped.failures
        return ArchiveReport(captured: capturer.capturedCount, scn: capturer.scn, archivedScn: c.redo.archivedScn, sequence: c.redo.sequence,
                             copies: copies, failures: failures)
    }

    package func requireArchiveLog() throws(EngineError) {
        if control.redo.mode == .noarchivelog {
            throw .invalidArgument("\(databasePath) is in NOARCHIVELOG mode; turn capture on with `cairn archivelog \(databasePath) on`.")
        }
    }

    /// `cairn archivelog DB on|off`.
    package func setLogMode(_ mode: LogMode) throws(EngineError) {
        let operation = try beginOperation(.writing, purpose: "change the log mode")
        defer { operation.end() }
        let old = control.redo.mode
        guard old != mode else { return }
        if mode == .archivelog {
            // Capture restarts from the database as it is now; what happened meanwhile is a gap.
            let scnNow = control.highestScn
            let point = try Self.captureBaseline(database: databasePath, layout: layout, scn: scnNow + 1, incarnation: control.incarnation)
            try transact { (c: inout ControlFile) throws(EngineError) in
                c.redo.mode = .archivelog
                c.redo.gaps.append(.init(scn: scnNow + 1, incarnation: c.incarnation, detectedAt: Date(),
                                         detail: "ARCHIVELOG mode was turned on; changes made in NOARCHIVELOG mode were not captured"))
                c.redo.capture = point
                c.scn = scnNow + 1
                c.walCursor = nil
            }
        } else {
            let lock = try captureLock()
            defer { _ = lock }
            try transact { (c: inout ControlFile) throws(EngineError) in c.redo.mode = .noarchivelog }
        }
    }

    /// `cairn switch-log`: asks a running capture to switch (SIGUSR1), or captures and
    /// switches here when none runs.
    package func requestLogSwitch() throws(EngineError) -> String {
        try requireArchiveLog()
        if let lock = try CaptureLock(path: layout.captureLockFile) {
            let capturer = try Capturer(database: self, logger: logger)
            try capturer.step()
            let seq = capturer.currentSequence
            try capturer.switchLog()
            Archiver(database: self, logger: logger).archivePending(force: true)
            try capturer.stop()
            _ = lock
            return seq.map { "log sequence \($0) closed and archived" } ?? "nothing to switch: the current log holds no transactions"
        }
        // Recorded in the control file (every capture looks there), then signalled, which wakes
        // an `archive --follow` at once (the agent ignores the signal and sees the file within
        // 2 s). Never signalled when the capture runs in this process (an application's own
        // capture): SIGUSR1 would end a process that did not ask for it.
        try transact { (c: inout ControlFile) throws(EngineError) in c.redo.switchRequests = (c.redo.switchRequests ?? 0) + 1 }
        guard let pid = CaptureLock.holder(path: layout.captureLockFile) else {
            throw .captureRunning(pid: nil, lockFile: layout.captureLockFile)
        }
        if pid != getpid() { _ = kill(pid, SIGUSR1) }
        return "asked the capture process \(pid) to switch logs"
    }

    // MARK: - Status

    package struct RedoStatus: Sendable, Codable {
        package let dbid: String
        package let database: String
        package let repository: String
        package let incarnation: Int
        package let mode: String
        /// Last captured SCN.
        package let scn: UInt64
        /// The newest SCN such that it and every SCN before it are archived to enough destinations.
        package let archivedScn: UInt64
        /// The newest SCN in any online or archived log of the lineage (or a backup).
        package let capturedScn: UInt64
        /// The newest SCN a restore without a target reaches now (nil: no backup to start from),
        /// the backup it starts from, and why it is behind `capturedScn`.
        package let recoverableScn: UInt64?
        package let recoverableFromBackup: UInt64?
        package let recoveryShortfall: RecoveryShortfall?
        package let sequence: UInt64
        package let checkpointScn: UInt64
        package let captureRunning: Bool
        package let capturePid: Int32?
        package let gaps: [RedoState.Gap]
        /// Set when capture stopped by itself (the database was deleted or replaced).
        package let captureStopped: RedoState.CaptureStop?
        /// The longest time Cairn held SQLite's write lock on this database.
        package let writeLock: WriteLockHolds?
        package let logs: Int
        package let backups: Int
        package let lastBackupId: UInt64?
        package let lastBackupScn: UInt64?
        package let lastBackupAt: Date?
        package let databaseBytes: UInt64?
        package let controlCopies: [String]
        package let onlineLogGroups: [RedoState.LogGroup]
        package let archiveDestinations: [String]
        /// Remote repositories and how far behind each is.
        package let remotes: [RemoteLag]
        /// Requests sent to object storage for this database so far, by kind.
        package let objectRequests: [String: UInt64]
        package let warnings: [String]
    }

    package var redoStatus: RedoStatus {
        let c = control
        let tail = OnlineLogTail.read(c)
        let running = CaptureLock.isHeld(path: layout.captureLockFile)
        let last = backups.last { $0.isDatabaseBackup }
        let reach = recoveryReach
        return RedoStatus(dbid: c.dbid, database: databasePath, repository: layout.root, incarnation: c.incarnation,
                          mode: c.redo.mode.rawValue, scn: max(c.scn, tail?.scn ?? 0), archivedScn: c.redo.archivedScn,
                          capturedScn: reach.capturedScn, recoverableScn: reach.recoverableScn,
                          recoverableFromBackup: reach.backupId, recoveryShortfall: reach.shortfall,
                          sequence: c.redo.sequence, checkpointScn: c.redo.checkpointScn, captureRunning: running,
                          capturePid: running ? CaptureLock.holder(path: layout.captureLockFile) : nil, gaps: c.redo.gaps,
                          captureStopped: c.redo.captureStopped, writeLock: WriteLockHolds.read(layout),
                          logs: c.redo.logs.count, backups: c.backups.count, lastBackupId: last?.id, lastBackupScn: last?.scn,
                          lastBackupAt: last?.completedAt, databaseBytes: FileSystem.fileSize(databasePath),
                          controlCopies: controlCopies, onlineLogGroups: c.redo.groups,
                          archiveDestinations: c.redo.archiveDestinations, remotes: remoteLag, objectRequests: c.objectRequests ?? [:], warnings: warnings + recoveryAreaWarnings)
    }

    // MARK: - Recovery

    /// Restores and recovers to `target` into a new file at `path`.
    /// With `incarnation`, the target is a point of that incarnation's lineage (an abandoned
    /// branch, say); without, of the current one's.
    /// With `recordPoint`, the point the file is at is kept beside it (`RestoredPoint`) for
    /// `cairn recover FILE`.
    package func recover(to path: String, target: RecoveryTarget, backup id: UInt64? = nil, force: Bool = false,
                        allowIncomplete: Bool = false, incarnation: Int? = nil, recordPoint: Bool = false,
                        monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> RecoveryEngine.Result {
        let dest = FileSystem.resolved(path)
        if dest == databasePath {
            guard !FileSystem.exists(databasePath) else {
                throw .invalidSetting(.restoreTarget, value: path, problem: "the live database; restore to another path, or replace the live database with an in-place restore.")
            }
            return try recoverInPlace(target: target, backup: id, allowIncomplete: allowIncomplete, incarnation: incarnation, monitor: monitor)
        }
        return try restoreNewFile(dest, target: target, backup: id, force: force, allowIncomplete: allowIncomplete,
                                  incarnation: incarnation, recordPoint: recordPoint, monitor: monitor)
    }

    /// Builds the database at `target` beside `dest` (every check passed) and moves it there;
    /// an existing `dest` is replaced only with `force`.
    func restoreNewFile(_ dest: String, target: RecoveryTarget, backup id: UInt64?, force: Bool,
                        allowIncomplete: Bool, incarnation: Int? = nil, recordPoint: Bool = false,
                        monitor: OperationMonitor) throws(EngineError) -> RecoveryEngine.Result {
        let operation = try beginReadingStoredFiles(purpose: "restore from the backups and logs")
        defer { operation.end() }
        if !force && FileSystem.exists(dest) { throw .targetExists(path: dest) }
        var engine = RecoveryEngine(database: self, logger: logger)
        try engine.follow(incarnation: incarnation)
        engine.monitor = monitor
        engine.allowIncomplete = allowIncomplete
        let built = try withBackupFallback { () throws(EngineError) in try engine.build(beside: dest, to: target, backupId: id) }
        try RestoreEngine.place(built.path, at: dest, force: force)
        if recordPoint { recordRestoredPoint(dest, result: built.result, map: built.map) }
        return built.result
    }

    /// Replaces the live database with its state at `target`. In ARCHIVELOG mode everything
    /// committed is captured and archived first (the abandoned branch is kept). A point before
    /// the newest captured one opens a new incarnation: sequences restart at 1 and the reset
    /// SCN is recorded.
    /// A point of another incarnation's lineage (`incarnation`) opens a new incarnation whose
    /// parent is the one the point belongs to: the branch left is reachable again.
    package func recoverInPlace(target: RecoveryTarget, backup id: UInt64? = nil, allowIncomplete: Bool = false,
                               incarnation: Int? = nil,
                               monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> RecoveryEngine.Result {
        let operation = try beginOperation(.exclusive, purpose: "replace the live database (restore in place)")
        defer { operation.end() }
        try ensureLiveDatabaseFree()
        let lock: CaptureLock? = control.redo.mode == .archivelog ? try captureLock() : nil
        defer { _ = lock }
        // Complete recovery includes what is committed in the live database now.
        if lock != nil && target == .complete { captureLastTransactions() }
        var engine = RecoveryEngine(database: self, logger: logger)
        try engine.follow(incarnation: incarnation)
        engine.monitor = monitor
        engine.allowIncomplete = allowIncomplete
        let built = try withBackupFallback { () throws(EngineError) in try engine.build(beside: databasePath, to: target, backupId: id) }
        try swapIn(built.path, scn: built.result.scn, parent: engine.owner(of: built.result.scn), map: built.map, captured: lock != nil)
        return built.result
    }

    /// Puts the database built at `path` (at `scn`, on incarnation `parent`'s lineage, pages
    /// `map`) in place of the live one, then records it: a point before the newest, or of
    /// another incarnation, opens a new incarnation whose parent is `parent`. `captured`: the
    /// capture lock is held, so the branch being abandoned gets its last transactions captured
    /// and archived first.
    func swapIn(_ path: String, scn: UInt64, parent: Int, map built: PageMap, captured: Bool) throws(EngineError) {
        do throws(EngineError) {
            if captured { captureLastTransactions() }
            try RestoreEngine.swapIn(path, for: databasePath)
        } catch {
            FileSystem.removeFile(path)
            throw error
        }
        let latest = control.highestScn
        var map = built
        map.resetTracking(at: scn)
        let branch = scn < latest || parent != control.incarnation
        let next = (control.incarnations.map(\.number).max() ?? control.incarnation) + 1
        try map.write(to: layout.pageMapFile, scn: scn, incarnation: branch ? next : control.incarnation, keys: try writingKeys())
        try transact { (c: inout ControlFile) throws(EngineError) in
            if branch {
                c.incarnations.append(.init(number: next, parent: parent, resetScn: scn, startScn: c.highestScn + 1, createdAt: Date()))
                c.incarnation = next
                c.redo.sequence = 0
                c.redo.archivedScn = scn
            }
            c.scn = scn
            c.walCursor = nil
            c.redo.capture = .init(scn: scn, incarnation: c.incarnation,
                                   position: WALPosition(salt1: 0, salt2: 0, frame: 0, checksum1: 0, checksum2: 0),
                                   stateChecksum: Hash.hex(map.state))
        }
    }

    package func listIncarnations() -> [ControlFile.Incarnation] { control.incarnations }
}
