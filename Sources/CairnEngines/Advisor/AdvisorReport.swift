import Foundation
import CairnFormats
import CairnCatalog

/// A failure as `cairn advise` lists it: the failure with its history, and how to repair it
/// (for open failures).
package struct AdvisedFailure: Sendable, Encodable {
    package let failure: Failure
    /// nil for closed failures.
    package let repair: RepairOptions?
}

/// What `cairn advise` found: the open failures, worst first (critical, high, low; then by
/// id), each with its repair options, and the closed ones with when and by what.
package struct AdvisorReport: Sendable, Encodable {
    package let database: String
    package let checkedAt: Date
    package let open: [AdvisedFailure]
    /// Closed failures, the most recently closed first.
    package let closed: [Failure]

    /// The priority of the worst open failure; nil when none is open.
    package var worst: Failure.Priority? { open.map(\.failure.priority).min() }

    private enum CodingKeys: String, CodingKey { case database, checkedAt, worst, open, closed }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(database, forKey: .database)
        try c.encode(checkedAt, forKey: .checkedAt)
        try c.encodeIfPresent(worst, forKey: .worst)
        try c.encode(open, forKey: .open)
        try c.encode(closed, forKey: .closed)
    }
}

/// What `cairn repair` did (or, with `--preview`, would do).
package struct RepairReport: Sendable, Encodable {
    package struct Item: Sendable, Encodable {
        package let failure: UInt64
        package let checker: String
        package let priority: Failure.Priority
        package let summary: String
        package let action: String
        /// What the repair does (preview) or was planned to do.
        package let plan: String
        /// What it did; nil in a preview or when it failed.
        package var result: String? = nil
        /// Whether the failure's checker no longer finds it; nil in a preview or when it failed.
        package var fixed: Bool? = nil
        /// Why the repair could not be carried out.
        package var error: String? = nil
        /// Other failures found fixed when the result was verified (e.g. by the same backup).
        package var alsoClosed: [UInt64] = []
    }

    /// An open failure no automatic repair can fix now, and what to do by hand.
    package struct Manual: Sendable, Encodable {
        package let failure: UInt64
        package let priority: Failure.Priority
        package let summary: String
        package let why: String
        package let steps: [String]
    }

    package let preview: Bool
    package var items: [Item] = []
    /// With every open failure asked for: those left to manual steps.
    package var manual: [Manual] = []

    /// True when every repair carried out was verified (a preview: none failed to plan).
    package var succeeded: Bool { items.allSatisfy { $0.error == nil && ($0.fixed ?? true) } }
}
