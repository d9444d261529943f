import Foundation

/// The point a restore brings the database to.
public enum RecoveryTarget: Sendable, Equatable {
    /// The latest archived point (the default).
    case latestArchived
    /// Everything captured so far, online logs included.
    case latestCaptured
    /// Right after transaction `scn` committed.
    case scn(UInt64)
    /// The last transaction committed at or before this time.
    case time(Date)
    /// The end of log sequence `n` of the current incarnation.
    case sequence(UInt64)
    /// Exactly the state of backup `id`, no logs applied.
    case backupOnly
}
