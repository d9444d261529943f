import Foundation

/// Everything Cairn knows about one protected database. Kept in several identical,
/// checksummed copies (see `ControlFileStore`).
public struct ControlFile: Codable, Sendable, Equatable {
    /// DBID as a decimal string, so JSON readers without 64-bit integers keep every digit.
    public var dbid: String
    public var databasePath: String
    public var repository: String
    public var controlCopies: [String]
    public var incarnation: Int
    public var incarnations: [Incarnation]
    /// Number of committed transactions seen so far (the SCN of the newest one).
    public var scn: UInt64
    /// Where in the WAL the SCN count stopped: salts of the WAL generation and frame index.
    public var walCursor: WALCursor?
    public var nextBackupId: UInt64
    public var backups: [BackupRecord]
    public var redo: RedoState
    public var createdAt: Date
    public var updatedAt: Date

    public var dbidValue: UInt64 { UInt64(dbid) ?? 0 }

    public struct Incarnation: Codable, Sendable, Equatable {
        public var number: Int
        public var parent: Int?
        /// The parent's SCN this incarnation branched from (its database state at the start).
        public var resetScn: UInt64
        /// The first SCN of this incarnation's own transactions.
        public var startScn: UInt64
        public var createdAt: Date
    }

    public func incarnation(_ n: Int) -> Incarnation? { incarnations.first { $0.number == n } }

    /// The chain from the first incarnation to `n`, oldest first.
    public func lineage(of n: Int) -> [Incarnation] {
        var chain: [Incarnation] = []
        var cur = incarnation(n)
        while let c = cur {
            chain.insert(c, at: 0)
            cur = c.parent.flatMap(incarnation)
        }
        return chain
    }

    /// Highest SCN ever issued in any incarnation (SCNs never repeat).
    public var highestScn: UInt64 {
        max(scn, redo.logs.map(\.highScn).max() ?? 0, incarnations.map { $0.startScn &- 1 }.max() ?? 0)
    }

    public struct WALCursor: Codable, Sendable, Equatable {
        public var salt1: UInt32
        public var salt2: UInt32
        public var frame: UInt32
    }
}

/// One completed backup as recorded in the control file.
public struct BackupRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case backupSet, imageCopy }
    public var id: UInt64
    public var kind: Kind
    public var level: Int
    public var scn: UInt64
    public var incarnation: Int
    public var pieces: Int
    /// Bytes stored in the repository (all pieces and the manifest).
    public var bytes: UInt64
    /// Size of the database the backup holds.
    public var databaseBytes: UInt64
    public var pageSize: Int
    public var pageCount: UInt32
    public var stateChecksum: String
    public var compression: String
    public var startedAt: Date
    public var completedAt: Date
    public var tag: String?
    /// Directory of the backup, relative to the repository.
    public var directory: String
}
