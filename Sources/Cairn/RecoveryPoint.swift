import Foundation
import CairnCatalog

/// The point a restore recovers to.
public enum RecoveryPoint: Sendable, Equatable {
    /// Every transaction captured (complete recovery).
    case latest
    /// Through the transaction with this system change number.
    case scn(UInt64)
    /// Through the last transaction committed at or before this time.
    case time(Date)
    /// The point a restore point names.
    case restorePoint(String)
    /// The backup as it is, no log applied.
    case backupOnly
}
