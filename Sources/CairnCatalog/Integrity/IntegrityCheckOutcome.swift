import Foundation

/// How the last periodic integrity check (PDIC) of a backup set went: every piece read and
/// verified end to end and, when asked (`--pdic-restore`), the set restored to a scratch file
/// that SQLite's `integrity_check` found sound.
package struct IntegrityCheckOutcome: Codable, Sendable, Equatable {
    package var checkedAt: Date
    package var ok: Bool
    /// Whether the set was also restored and checked by SQLite.
    package var restored: Bool
    /// What was wrong (nil when `ok`).
    package var problem: String?

    package init(checkedAt: Date, ok: Bool, restored: Bool, problem: String?) {
        self.checkedAt = checkedAt
        self.ok = ok
        self.restored = restored
        self.problem = problem
    }
}
