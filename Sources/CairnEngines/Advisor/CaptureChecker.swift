import Foundation
import CairnFormats
import CairnCatalog

/// "capture": in ARCHIVELOG mode no capture runs (nobody holds the capture lock), so SQLite
/// may checkpoint and restart its WAL before the commits in it are captured: they would be
/// lost to recovery (a gap).
struct CaptureChecker: FailureChecker {
    var name: String { "capture" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        guard c.redo.mode == .archivelog, !ctx.captureRunning else { return [] }
        var summary = "capture of \(ctx.db) is not running in ARCHIVELOG mode: commits made now can be checkpointed out of the WAL before they are captured, and recovery could not cross them"
        if let stop = c.redo.captureStopped {
            summary += "; it stopped by itself at SCN \(stop.scn) (\(ISO8601DateFormatter().string(from: stop.at))): \(stop.detail)"
        }
        return [FailureFinding(key: "not-running", priority: .critical, summary: summary, affected: ctx.catalog.layout.captureLockFile)]
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        var steps: [String] = []
        if ctx.control.redo.captureStopped != nil || !FileSystem.exists(db) {
            steps.append("Capture stopped because the database was deleted or replaced: repair that first (see the \"database\" failure; `cairn restore \(db) --in-place`).")
        }
        steps += [
            "Start capture: run `cairn archive \(db) --follow` as a service, or protect the database with the agent (`cairn agent --config FILE`), or start capture in the application (Cairn's library).",
            "If the database is not meant to be captured, turn ARCHIVELOG mode off with `cairn archivelog \(db) off` (point-in-time recovery then reaches backups only).",
        ]
        return .manualOnly(steps, because: "capture is a long-running process that belongs to a service, the agent or the application; `cairn repair` does not start one")
    }
}
