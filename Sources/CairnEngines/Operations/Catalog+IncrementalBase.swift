import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Chooses the base of a level-1 backup from the control file as it is under the deletion
    /// lock, and pins the base's chain for `operation`: no deletion removes it while the
    /// level 1 is written and recorded. Nil when no usable base exists (a level 0 is taken).
    func pinnedIncrementalPlan(cumulative: Bool, source: SnapshotSource, operation: RepositoryOperation) throws(EngineError) -> IncrementalPlan? {
        let session = try deletionSession(files: false, purpose: "choose the base of a level-1 backup")
        defer { session.end() }
        guard let plan = incrementalPlan(cumulative: cumulative, source: source) else { return nil }
        let chain = control.chain(of: plan.base)?.map(\.id) ?? [plan.base.id]
        try operation.pin(backups: chain, logs: [], under: session)
        return plan
    }
}
