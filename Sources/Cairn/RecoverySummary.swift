import Foundation
import CairnEngines

/// What a restore reached.
public struct RecoverySummary: Sendable, Equatable, Codable {
    /// The backup restored first (a level 0), and every backup of its chain in order.
    public let backupId: UInt64
    public let chain: [UInt64]
    /// The last transaction applied: the state of the restored database.
    public let scn: UInt64
    public let incarnation: Int
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
    public let backupId: UInt64
    public let valid: Bool
    /// What is wrong with it, when it is not valid.
    public let problem: String?
}
