import Foundation

/// Where a protected database stands: what was captured, archived and backed up, and how
/// far a restore can go.
public struct DatabaseStatus: Sendable, Equatable, Codable {
    /// The database's identity (a random 64-bit number given at registration).
    public let dbid: UInt64
    /// The database file, by its resolved (real) path.
    public let databasePath: String
    /// The repository directory that holds backups, archived logs and the catalog.
    public let repositoryPath: String
    /// The current incarnation: a new one begins when the database is rewound to an earlier point.
    public let incarnation: Int
    /// True when every transaction is captured (ARCHIVELOG mode).
    public let archiveLog: Bool
    /// The newest captured transaction.
    public let capturedScn: UInt64
    /// The newest transaction held by an archived (closed, copied) log.
    public let archivedScn: UInt64
    /// The newest transaction a restore can reach now, or nil when no backup can start one.
    public let recoverableScn: UInt64?
    /// True while capture runs for this database (in this process or another).
    public let captureRunning: Bool
    /// How many backups are recorded (of every kind, available or not).
    public let backups: Int
    /// The number of the newest backup, if there is one.
    public let lastBackupId: UInt64?
    /// When the newest backup completed, if there is one.
    public let lastBackupAt: Date?
    /// Problems worth a person's attention (a damaged control-file copy, a full recovery area...).
    public let warnings: [String]
}
