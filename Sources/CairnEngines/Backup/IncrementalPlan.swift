import Foundation
import CairnFormats
import CairnCatalog

/// What a level-1 backup needs: its base, every page's hash at the base's SCN, and a way to
/// find, once the snapshot is taken, the pages that may have changed since the base.
struct IncrementalPlan {
    let base: BackupRecord
    let baseMap: PageMap
    let cumulative: Bool
    /// Candidate pages: a superset of the pages changed between the base and the snapshot
    /// (a bitmap). Nil when change tracking cannot tell; then every page is compared.
    let candidates: (DatabaseSnapshot) throws(EngineError) -> PageSet?
    /// The exact database state at the snapshot, when this process captured up to it.
    let exactState: () -> UInt64?
}

