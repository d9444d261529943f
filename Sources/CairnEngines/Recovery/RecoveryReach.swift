import Foundation
import CairnFormats
import CairnCatalog

/// How far a complete recovery reaches right now, as planned from the control file and the
/// files that exist (`cairn status`, and the target of a default restore).
package struct RecoveryReach: Sendable, Codable, Equatable {
    /// The newest captured SCN: in any online or archived log of the lineage (or a backup).
    package var capturedScn: UInt64
    /// The newest SCN a default restore reaches; nil when no backup can start a recovery.
    package var recoverableScn: UInt64?
    /// The backup such a restore starts from.
    package var backupId: UInt64?
    /// Why `recoverableScn` is behind `capturedScn`; nil when recovery reaches everything.
    package var shortfall: RecoveryShortfall?
}

/// What a recovery leaves out of everything captured, why, and what to do about it.
package struct RecoveryShortfall: Sendable, Codable, Equatable {
    package enum Cause: String, Sendable, Codable {
        /// Changes that were never captured: recovery never crosses them.
        case gap
        /// A log is in none of the places it was looked for.
        case missingLog = "missing-log"
        /// A log was found but no copy of it verified.
        case damagedLog = "damaged-log"
        /// No backup on the lineage can start a recovery.
        case noBackup = "no-backup"
    }

    package var cause: Cause
    /// Captured transactions left out (the SCN a gap stands for is not counted).
    package var transactions: UInt64
    /// The first SCN left out, and the newest captured SCN.
    package var fromScn: UInt64
    package var toScn: UInt64
    /// The gap's detail, or which log is missing and where it was looked for.
    package var reason: String
    /// What to do about it.
    package var action: String

    /// One line for the CLI.
    package var summary: String {
        if cause == .noBackup {
            return "nothing can be restored (\(transactions) captured transaction(s) so far): \(reason). \(action)"
        }
        return "\(transactions) captured transaction(s) left out, SCN \(fromScn) to \(toScn): \(reason). \(action)"
    }
}
