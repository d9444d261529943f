import Foundation
import CairnFormats
import CairnCatalog

/// "recovery-area": the recovery area (the repository) uses 85 % of its size limit or more
/// (high), or all of it, or archiving waits for room in it (critical: capture stalls once
/// every online log group waits).
struct RecoveryAreaChecker: FailureChecker {
    var name: String { "recovery-area" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let c = ctx.control
        let blocked = c.redo.logs.filter { l in l.destinations.contains { $0.state == .failed && RecoveryArea.isFullMessage($0.error) } }
        guard let limit = c.policy.recoveryAreaLimit else { return [] }
        let area = ctx.catalog.recoveryArea
        let used = area.measure(c).total
        let pct = limit == 0 ? 100 : Double(used) / Double(limit) * 100
        guard pct >= Policy.warningFraction * 100 || !blocked.isEmpty else { return [] }
        var summary = "the recovery area \(area.root) is \(Int(pct.rounded(.down))) % full (\(ByteCount.text(used)) of \(ByteCount.text(limit)))"
        if !blocked.isEmpty {
            summary += "; \(blocked.count) log(s) wait to be archived for lack of room, and capture stalls once every online log group waits"
        }
        return [FailureFinding(key: "usage", priority: pct >= 100 || !blocked.isEmpty ? .critical : .high, summary: summary, affected: area.root)]
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        return RepairActions.options([
            "See what uses the room with `cairn report space \(db)` and what the retention policy no longer needs with `cairn report obsolete \(db)`.",
            "Delete it with `cairn delete obsolete \(db)`, or raise the limit with `cairn configure \(db) recovery-area-size SIZE`, or keep fewer backups (`cairn configure \(db) retention redundancy N`).",
        ], RepairActions.deleteObsolete(ctx))
    }
}
