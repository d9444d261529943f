import Foundation
import CairnFormats
import CairnCatalog

/// "gaps": changes that were never captured (capture was not running while the WAL was
/// checkpointed, ARCHIVELOG mode turned back on). Recovery never crosses a gap: one after the
/// newest level-0 backup (or with no level 0) is critical, since complete recovery stops
/// before it; one before it but still in the recovery window is low (point-in-time recovery
/// cannot reach between the gap and that backup). Gaps outside the window are not failures.
struct GapsChecker: FailureChecker {
    var name: String { "gaps" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let base = ctx.newestLevel0
        let basePosition = base.flatMap { ctx.lineage.position(scn: $0.scn, incarnation: $0.incarnation) }
        var out: [FailureFinding] = []
        for g in ctx.control.redo.gaps {
            guard let at = ctx.lineage.position(scn: g.scn, incarnation: g.incarnation) else { continue }
            let detected = ISO8601DateFormatter().string(from: g.detectedAt)
            if basePosition.map({ $0 < at }) ?? true {
                let after = base.map { "after the newest level-0 backup (\($0.id), SCN \($0.scn))" } ?? "and no level-0 backup exists"
                out.append(FailureFinding(key: "\(g.incarnation):\(g.scn):after-level0", priority: .critical,
                                          summary: "gap at SCN \(g.scn) of incarnation \(g.incarnation) \(after), found \(detected): \(g.detail); complete recovery stops at SCN \(g.scn - 1) and nothing committed since can be restored",
                                          affected: "SCN \(g.scn)"))
            } else if let base, let bp = basePosition, at < bp, ctx.inRecoveryWindow(scn: g.scn, incarnation: g.incarnation) {
                out.append(FailureFinding(key: "\(g.incarnation):\(g.scn):before-level0", priority: .low,
                                          summary: "gap at SCN \(g.scn) of incarnation \(g.incarnation) before the newest level-0 backup (\(base.id), SCN \(base.scn)), found \(detected): \(g.detail); point-in-time recovery cannot reach SCN \(g.scn) to \(base.scn - 1)",
                                          affected: "SCN \(g.scn)"))
            }
        }
        return out
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        guard f.key.hasSuffix(":after-level0") else {
            return .manualOnly([
                "Nothing restores the changes a gap stands for; the points before the newest level-0 backup that it hides leave the recovery window as retention moves on.",
                "Keep capture running (`cairn archive \(db) --follow` or the agent) so that no new gap opens.",
            ], because: "changes that were never captured cannot be brought back, and the newest level 0 already lies after the gap")
        }
        return RepairActions.options([
            "Take a level-0 backup with `cairn backup \(db)`: it starts a new chain that complete recovery can follow past the gap.",
            "Keep capture running (`cairn archive \(db) --follow` or the agent) so that no new gap opens.",
        ], RepairActions.level0Backup(ctx, because: "so that complete recovery starts after the gap"))
    }
}
