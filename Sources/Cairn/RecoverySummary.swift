import Foundation
import CairnEngines

/// What a restore reached.
public struct RecoverySummary: Sendable, Equatable, Codable {
    /// The backup the restore was built from: the one the planner chose (or the one asked
    /// for); for a level 1, the newest backup of ``chain``.
    public let backupId: UInt64
    /// Every backup that was restored, level 0 first, then each level 1 in the order applied.
    public let chain: [UInt64]
    /// The last transaction applied: the state of the restored database.
    public let scn: UInt64
    /// The incarnation the restored database belongs to.
    public let incarnation: Int
    /// How many captured transactions were applied from logs after the backups.
    public let transactionsApplied: Int
    /// True when the restore reached what was asked.
    public let complete: Bool
    /// Why it stopped short, when it did.
    public let shortfall: String?
    /// SQLite's integrity check passed on the restored database.
    public let integrityChecked: Bool

    init(_ r: RecoveryEngine.Result) {
        backupId = r.backupId
        chain = r.chain
        scn = r.scn
        incarnation = r.incarnation
        transactionsApplied = r.transactionsApplied
        complete = r.complete
        shortfall = r.missing
        integrityChecked = r.integrityChecked
    }
}

/// The result of verifying one backup.
public struct BackupValidation: Sendable, Equatable, Codable {
    /// The backup that was read.
    public let backupId: UInt64
    /// True when every file of the backup was there and passed every check.
    public let valid: Bool
    /// What is wrong with it, when it is not valid.
    public let problem: String?
}
