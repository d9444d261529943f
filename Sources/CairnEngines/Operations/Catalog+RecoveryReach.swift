import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// How far a complete recovery (a restore without a target) reaches now: the newest
    /// captured SCN, the newest recoverable one and the backup it starts from, and why they
    /// differ. Planned the way the restore plans (sizes and headers of the logs; no log is read
    /// through but the open online log), so the two agree.
    package var recoveryReach: RecoveryReach {
        RecoveryPlanner(engine: RecoveryEngine(database: self, logger: logger)).reachNow()
    }
}
