import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

/// Runs one job on a database as the matching `cairn` command would, on the calling thread,
/// and says what it did in a line or two (its output on the status page).
enum JobExecution {
    struct Failed: Error { let message: String }

    static func run(_ job: ScheduledJob, on target: ProtectedTarget, monitor: OperationMonitor, logger: Logger) -> Result<String, Failed> {
        do throws(EngineError) {
            let catalog = try Catalog.open(database: target.path, repository: target.repository ?? target.target.entry.repository, logger: logger)
            return try perform(job, catalog, monitor: monitor)
        } catch {
            return .failure(Failed(message: error.description))
        }
    }

    private static func perform(_ job: ScheduledJob, _ catalog: Catalog, monitor: OperationMonitor) throws(EngineError) -> Result<String, Failed> {
        switch job.kind {
        case .backup:
            var o = BackupOptions()
            o.level = job.level
            o.cumulative = job.cumulative
            o.monitor = monitor
            // Leave a core for capture and the other databases.
            o.workers = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
            let r = try catalog.backup(o)
            let kind = r.level == 0 ? "level 0" : (r.isCumulative ? "level 1 cumulative" : "level 1")
            return .success("backup \(r.id) (\(kind)) at SCN \(r.scn): \(r.pageCount) pages, \(r.bytes) bytes stored, verified")
        case .archivelog:
            var o = BackupOptions()
            o.monitor = monitor
            let r = try catalog.backupArchivedLogs(o)
            return .success(r.message)
        case .deleteObsolete:
            let r = try catalog.deleteObsolete()
            return .success("deleted \(r.backups.count) obsolete backup(s) and \(r.logsDropped.count) log(s), \(r.bytes) bytes")
        case .crosscheck:
            let r = try catalog.crosscheck()
            let missing = r.backups.filter { $0.status != "AVAILABLE" }.count
            return .success("crosschecked \(r.backups.count) backup(s) and \(r.logs.count) log(s); \(missing) backup(s) not available")
        case .validate:
            let results = try catalog.validate(monitor: monitor)
            let bad = results.filter { !$0.ok }
            let text = "\(results.count - bad.count) of \(results.count) backup(s) valid"
            if bad.isEmpty { return .success(text) }
            return .failure(Failed(message: text + "; " + bad.map { "backup \($0.id): \($0.error ?? "invalid")" }.joined(separator: "; ")))
        case .snapshot:
            let r = try catalog.runDueSnapshot(monitor: monitor)
            let made = r.made.map { "snapshot \($0.name) at SCN \($0.scn), \($0.bytes) bytes" } ?? "no snapshot due"
            return .success(made + (r.dropped.isEmpty ? "" : "; dropped \(r.dropped.joined(separator: ", "))"))
        }
    }
}
