import Foundation
import CairnFormats

/// The point a restore brings the database to.
package enum RecoveryTarget: Sendable, Equatable {
    /// Complete recovery (the default, and `--latest`): every captured transaction — in
    /// archived logs, in closed online logs not archived yet, and in the intact part of the
    /// current online log. When a gap or a missing log stops it short, recovery goes to the
    /// last point it can reach and the result says what was left out and why.
    case complete
    /// Right after transaction `scn` committed.
    case scn(UInt64)
    /// The last transaction committed at or before this time.
    case time(Date)
    /// The end of log sequence `n` of the current incarnation.
    case sequence(UInt64)
    /// Exactly the state of backup `id`, no logs applied.
    case backupOnly

    /// Former names of complete recovery (the old default stopped at the newest archived SCN,
    /// leaving captured transactions out without a word).
    @available(*, deprecated, renamed: "complete")
    package static var latestArchived: RecoveryTarget { .complete }
    @available(*, deprecated, renamed: "complete")
    package static var latestCaptured: RecoveryTarget { .complete }

    /// How results and messages name the target.
    package var label: String {
        switch self {
        case .complete: return "complete"
        case .scn(let n): return "SCN \(n)"
        case .time(let t): return "time " + ISO8601DateFormatter().string(from: t)
        case .sequence(let s): return "end of log sequence \(s)"
        case .backupOnly: return "backup"
        }
    }
}
