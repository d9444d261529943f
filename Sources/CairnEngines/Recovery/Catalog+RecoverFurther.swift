import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Keeps beside a file restored to a new path where it came from and its point, for
    /// `cairn recover FILE` (a failure to write it only loses that).
    func recordRestoredPoint(_ path: String, result: RecoveryEngine.Result, map: PageMap) {
        let point = RestoredPoint(database: databasePath, repository: layout.root, repositoryAlone: isRepositoryAlone, dbid: control.dbid,
                                  scn: result.scn, incarnation: result.incarnation, state: Hash.hex(map.state))
        let mode = control.fileMode ?? FileMode.of(file: databasePath) ?? .ownerOnly
        do throws(EngineError) { try point.write(for: path, mode: mode) } catch {
            logger.warning("\(path) was restored, but the record of its point could not be written (`cairn recover` cannot roll it forward): \(error.description)")
        }
    }

    /// `cairn recover FILE`: rolls a database restored earlier to a new file further forward
    /// with the logged transactions after its point, to `target`, on the lineage its point is
    /// on (the current one's when it is on it; `incarnation` chooses another). The file must
    /// be as it was restored (its state is checked first); the transactions are applied to a
    /// copy beside it, checked after each one and by SQLite's integrity_check, then the copy
    /// replaces it: after a crash at any moment the file is at its old point or the new one.
    package static func recoverRestoredFile(_ file: String, target: RecoveryTarget, incarnation: Int? = nil,
                                            monitor: OperationMonitor = OperationMonitor(),
                                            logger: Logger = Logger(label: "cairn")) throws(EngineError) -> RecoveryEngine.Result {
        let path = FileSystem.resolved(file)
        let point = try RestoredPoint.read(for: path)
        let catalog: Catalog
        if point.repositoryAlone || !FileSystem.exists(point.database) {
            catalog = try openRepositoryAlone(point.repository, logger: logger).0
        } else {
            catalog = try Catalog.open(database: point.database, repository: point.repository, logger: logger)
        }
        guard catalog.control.dbid == point.dbid else {
            throw .invalidArgument("\(point.repository) now protects database \(catalog.control.dbid), not \(point.dbid) which \(path) was restored from; nothing was changed.")
        }
        return try catalog.recoverFurther(path, from: point, target: target, incarnation: incarnation, monitor: monitor)
    }

    func recoverFurther(_ path: String, from point: RestoredPoint, target: RecoveryTarget, incarnation: Int?,
                        monitor: OperationMonitor) throws(EngineError) -> RecoveryEngine.Result {
        let operation = try beginReadingStoredFiles(purpose: "roll \(path) forward")
        defer { operation.end() }
        if let wal = FileSystem.fileSize(path + "-wal"), wal > 0 {
            throw .invalidArgument("\(path) has a WAL with changes (\(path)-wal): it was written to since it was restored at SCN \(point.scn), so the logs no longer apply to it. Restore it again; nothing was changed.")
        }
        var engine = RecoveryEngine(database: self, logger: logger)
        engine.monitor = monitor
        let onCurrent = LineagePath(control, to: control.incarnation).position(scn: point.scn, incarnation: point.incarnation) != nil
        try engine.follow(incarnation: incarnation ?? (onCurrent ? nil : point.incarnation))
        guard let index = engine.place(point.scn, incarnation: point.incarnation) else {
            throw .invalidArgument("SCN \(point.scn), where \(path) is, is not on the lineage of incarnation \(engine.incarnation); nothing was changed. See `cairn list incarnations`.")
        }
        let start = LineagePath.Position(index: index, scn: point.scn)
        let plan = try engine.plan(target, backupId: nil)
        guard !(plan.target < start) else {
            throw .invalidArgument("\(path) is at SCN \(point.scn), after the target (SCN \(plan.target.scn)): recovery only goes forward. Restore again to go back; nothing was changed.")
        }
        var result = RecoveryEngine.Result(backupId: 0, backupScn: point.scn, scn: point.scn, incarnation: point.incarnation, logsApplied: 0,
                                           transactionsApplied: 0, bytesApplied: 0, complete: true, missing: nil, chain: [])
        result.target = target.label
        result.capturedScn = plan.captured.scn
        result.shortfall = plan.shortfall
        if plan.target == start { return result }
        let dir = FileSystem.parent(of: path), name = (path as NSString).lastPathComponent
        engine.extractedLogs.directory = dir
        engine.extractedLogs.namePrefix = "." + name + ".cairn-log"
        defer { engine.extractedLogs.removeAll() }
        let temp = dir + "/." + name + ".cairn-recover-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            let copy = try RawFile(path: temp, mode: .createNew, permissions: FileMode.of(file: path) ?? .ownerOnly)
            let pageSize = try DatabaseHeader.read(path).pageSize
            var (map, _) = try CopyCataloger.scan(path, pageSize: pageSize, copyTo: copy)
            guard Hash.hex(map.state) == point.state else {
                throw .verificationFailed(file: path, detail: "it is not as it was restored at SCN \(point.scn) (changed since, or an earlier recover of it was interrupted); restore it again. Nothing was changed")
            }
            try engine.applyLogs(to: copy, map: &map, plan: plan, result: &result, from: start)
            result.complete = result.shortfall == nil
            result.missing = result.shortfall?.summary
            try copy.truncate(to: UInt64(map.pageCount) * UInt64(map.pageSize))
            try copy.sync()
            try IntegrityCheck.require(temp, built: "\(path) recovered from SCN \(point.scn) to SCN \(result.scn)", for: path)
            result.integrityChecked = true
            try RestoreEngine.place(temp, at: path, force: true)
            recordRestoredPoint(path, result: result, map: map)
            return result
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }
}
