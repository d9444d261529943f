import Foundation
import CairnFormats

/// How long backups and logs are kept, and how much disk the recovery area may use.
package struct Policy: Codable, Sendable, Equatable {
    /// Retention: keep the `redundancy` newest level-0 backups, or everything needed to
    /// recover to any point in the last `windowDays` days; neither set means no retention
    /// (nothing is ever obsolete). The default is redundancy 1.
    package var redundancy: Int? = 1
    package var windowDays: Double? = nil
    /// Size limit of the recovery area (the repository directory), in bytes; nil: none.
    package var recoveryAreaLimit: UInt64? = nil
    /// The time zone whose days the periodic integrity check goes by (an IANA name such as
    /// "Europe/Berlin"); nil: the system's.
    package var integrityCheckTimeZone: String? = nil
    /// The automatic daily snapshot; nil: none.
    package var dailySnapshot: DailySnapshot? = nil

    package init() {}

    package enum Retention: Sendable, Equatable {
        case none
        case redundancy(Int)
        case window(days: Double)
    }

    package var retention: Retention {
        get {
            if let r = redundancy { return .redundancy(r) }
            if let w = windowDays { return .window(days: w) }
            return .none
        }
        set {
            switch newValue {
            case .none: redundancy = nil; windowDays = nil
            case .redundancy(let n): redundancy = n; windowDays = nil
            case .window(let d): redundancy = nil; windowDays = d
            }
        }
    }

    /// Share of the limit at which Cairn warns.
    package static let warningFraction = 0.85
}
