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
    /// Retention policy and recovery-area limit.
    public var policy: Policy = Policy()
    /// Named points to return to (`cairn restore-point`).
    public var restorePoints: [RestorePoint] = []
    /// Permissions of every file Cairn creates for this database (`cairn init --mode`); nil:
    /// the database file's own permission bits at the time (see `FilePermissions`).
    public var fileMode: FileMode? = nil

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

    /// Backups of the database's pages (not of logs) whose files a crosscheck has not found gone.
    public var restorableBackups: [BackupRecord] { backups.filter { $0.isDatabaseBackup && $0.isAvailable } }

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
    /// `archivedLogs`: a backup set of archived logs (`cairn backup --archivelog`), not of pages.
    public enum Kind: String, Codable, Sendable { case backupSet, imageCopy, archivedLogs }
    public enum Status: String, Codable, Sendable { case available = "AVAILABLE", expired = "EXPIRED" }
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
    /// Level 1: the backup this one holds the changes since (its parent in the chain).
    public var baseId: UInt64? = nil
    /// Level 1: changes since the last level 0 (cumulative) rather than since the last backup.
    public var cumulative: Bool? = nil
    /// Archival backup exempt from retention: until this date, or forever when `keepForever`.
    public var keepUntil: Date? = nil
    public var keepForever: Bool? = nil
    /// Pages stored (a level 1 stores only the changed ones); nil means every page.
    public var pagesStored: UInt64? = nil
    /// AVAILABLE, or EXPIRED once a crosscheck found its files gone or unreadable (nil: AVAILABLE).
    public var status: Status? = nil
    /// Archived-log backups: the logs the set holds.
    public var logs: [LogKey]? = nil

    public var isDatabaseBackup: Bool { kind != .archivedLogs }
    public var isAvailable: Bool { (status ?? .available) == .available }
    public var isCumulative: Bool { cumulative ?? false }
    /// Kept out of retention at `now` (KEEP UNTIL date not yet passed, or KEEP FOREVER).
    public func isKept(at now: Date = Date()) -> Bool {
        (keepForever ?? false) || (keepUntil.map { $0 > now } ?? false)
    }

    /// The record of a verified backup described by its manifest.
    public init(manifest m: BackupManifest, bytes: UInt64, directory: String) {
        id = m.backupId; kind = m.kind; level = m.level; scn = m.scn; incarnation = m.incarnation
        pieces = m.files.count; self.bytes = bytes
        databaseBytes = UInt64(m.pageCount) * UInt64(m.pageSize); pageSize = m.pageSize; pageCount = m.pageCount
        stateChecksum = m.stateChecksum; compression = m.compression; startedAt = m.startedAt; completedAt = m.completedAt
        tag = m.tag; self.directory = directory
        baseId = m.baseId; cumulative = m.cumulative; keepUntil = m.keepUntil; keepForever = m.keepForever
        pagesStored = m.pagesStored; logs = m.logs?.map(\.key)
    }
}

/// Identifies one log sequence of one incarnation.
public struct LogKey: Codable, Sendable, Equatable, Hashable {
    public var incarnation: Int
    public var sequence: UInt64
    public init(incarnation: Int, sequence: UInt64) { self.incarnation = incarnation; self.sequence = sequence }
}
