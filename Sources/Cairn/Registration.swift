import Foundation

/// How a database is registered with Cairn (``ProtectedDatabase/register(_:_:logger:)``).
public struct Registration: Sendable, Equatable {
    /// The repository directory (default: `DATABASE.cairn` beside the database).
    public var repository: String?
    /// More places for a copy of the control file (one is always beside the database and
    /// one in the repository).
    public var extraControlCopies: [String]
    /// Capture every transaction (the default); false registers in NOARCHIVELOG mode,
    /// where only backups are taken.
    public var archiveLog: Bool
    /// Directories of the archived logs (default: the repository's `archive/`).
    public var archiveDestinations: [String]
    /// Size at which an online log is closed and archived.
    public var logSizeBytes: UInt64
    /// The WAL size Cairn keeps the database's WAL near by checkpointing after capture.
    public var walTargetBytes: UInt64
    /// Permission bits of every file Cairn writes (default: those of the database file).
    public var fileMode: mode_t?
    /// Remote repositories (`s3://BUCKET/PREFIX`, endpoint and credentials from the AWS_*
    /// environment variables): every archived log, backup and catalog copy also goes there,
    /// under the database's DBID, filled behind local archiving (asynchronous remotes).
    public var remotes: [String] = []

    /// Registration options; the defaults give ARCHIVELOG mode, the default repository and
    /// archive destination, 16 MiB online logs and a 4 MiB WAL target.
    public init(repository: String? = nil, extraControlCopies: [String] = [], archiveLog: Bool = true,
                archiveDestinations: [String] = [], logSizeBytes: UInt64 = 16 << 20, walTargetBytes: UInt64 = 4 << 20,
                fileMode: mode_t? = nil) {
        self.repository = repository
        self.extraControlCopies = extraControlCopies
        self.archiveLog = archiveLog
        self.archiveDestinations = archiveDestinations
        self.logSizeBytes = logSizeBytes
        self.walTargetBytes = walTargetBytes
        self.fileMode = fileMode
    }
}
