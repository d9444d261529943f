import Foundation
import CairnFormats

/// Everything Cairn knows about one protected database. Kept in several identical,
/// checksummed copies (see `ControlFileStore`).
package struct ControlFile: Codable, Sendable, Equatable {
    /// DBID as a decimal string, so JSON readers without 64-bit integers keep every digit.
    package var dbid: String
    package var databasePath: String
    package var repository: String
    package var controlCopies: [String]
    package var incarnation: Int
    package var incarnations: [Incarnation]
    /// Number of committed transactions seen so far (the SCN of the newest one).
    package var scn: UInt64
    /// Where in the WAL the SCN count stopped: salts of the WAL generation and frame index.
    package var walCursor: WALCursor?
    package var nextBackupId: UInt64
    package var backups: [BackupRecord]
    package var redo: RedoState
    package var createdAt: Date
    package var updatedAt: Date
    /// Retention policy and recovery-area limit.
    package var policy: Policy = Policy()
    /// Named points to return to (`cairn restore-point`).
    package var restorePoints: [RestorePoint] = []
    /// Permissions of every file Cairn creates for this database (`cairn init --mode`); nil:
    /// the database file's own permission bits at the time (see `FilePermissions`).
    package var fileMode: FileMode? = nil
    /// Copies of the repository in object storage (see `RemoteRepository`); nil: none.
    package var remotes: [RemoteRepository]? = nil
    /// Requests sent to object storage for this database so far, by kind (see `ObjectRequests`).
    package var objectRequests: [String: UInt64]? = nil
    /// Client-side encryption of the files outside the database; nil: off.
    package var encryption: EncryptionSetting? = nil
    /// Failures found by the recovery advisor and the checks, open and closed (see `FailureLog`); nil: none yet.
    package var failures: [Failure]? = nil
    package var nextFailureId: UInt64? = nil

    package var dbidValue: UInt64 { UInt64(dbid) ?? 0 }

    package struct Incarnation: Codable, Sendable, Equatable {
        package var number: Int
        package var parent: Int?
        /// The parent's SCN this incarnation branched from (its database state at the start).
        package var resetScn: UInt64
        /// The first SCN of this incarnation's own transactions.
        package var startScn: UInt64
        package var createdAt: Date
        package init(number: Int, parent: Int? = nil, resetScn: UInt64, startScn: UInt64, createdAt: Date) {
            self.number = number
            self.parent = parent
            self.resetScn = resetScn
            self.startScn = startScn
            self.createdAt = createdAt
        }

    }

    /// Backups of the database's pages (not of logs) whose files a crosscheck has not found gone.
    package var restorableBackups: [BackupRecord] { backups.filter { $0.isDatabaseBackup && $0.isAvailable } }

    package func incarnation(_ n: Int) -> Incarnation? { incarnations.first { $0.number == n } }

    /// The chain from the first incarnation to `n`, oldest first.
    package func lineage(of n: Int) -> [Incarnation] {
        var chain: [Incarnation] = []
        var cur = incarnation(n)
        while let c = cur {
            chain.insert(c, at: 0)
            cur = c.parent.flatMap(incarnation)
        }
        return chain
    }

    /// Highest SCN ever issued in any incarnation (SCNs never repeat).
    package var highestScn: UInt64 {
        max(scn, redo.logs.map(\.highScn).max() ?? 0, incarnations.map { $0.startScn &- 1 }.max() ?? 0)
    }

    package struct WALCursor: Codable, Sendable, Equatable {
        package var salt1: UInt32
        package var salt2: UInt32
        package var frame: UInt32

        package init(salt1: UInt32, salt2: UInt32, frame: UInt32) {
            self.salt1 = salt1
            self.salt2 = salt2
            self.frame = frame
        }
    }

    package init(dbid: String, databasePath: String, repository: String, controlCopies: [String], incarnation: Int, incarnations: [Incarnation], scn: UInt64, walCursor: WALCursor? = nil, nextBackupId: UInt64, backups: [BackupRecord], redo: RedoState, createdAt: Date, updatedAt: Date, policy: Policy = Policy(), restorePoints: [RestorePoint] = [], fileMode: FileMode? = nil) {
        self.dbid = dbid
        self.databasePath = databasePath
        self.repository = repository
        self.controlCopies = controlCopies
        self.incarnation = incarnation
        self.incarnations = incarnations
        self.scn = scn
        self.walCursor = walCursor
        self.nextBackupId = nextBackupId
        self.backups = backups
        self.redo = redo
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.policy = policy
        self.restorePoints = restorePoints
        self.fileMode = fileMode
    }
}

/// One completed backup as recorded in the control file.
package struct BackupRecord: Codable, Sendable, Equatable {
    /// `archivedLogs`: a backup set of archived logs (`cairn backup --archivelog`), not of pages.
    package typealias Kind = BackupKind
    package enum Status: String, Codable, Sendable { case available = "AVAILABLE", expired = "EXPIRED" }
    package var id: UInt64
    package var kind: Kind
    package var level: Int
    package var scn: UInt64
    package var incarnation: Int
    package var pieces: Int
    /// Bytes stored in the repository (all pieces and the manifest).
    package var bytes: UInt64
    /// Size of the database the backup holds.
    package var databaseBytes: UInt64
    package var pageSize: Int
    package var pageCount: UInt32
    package var stateChecksum: String
    package var compression: String
    package var startedAt: Date
    package var completedAt: Date
    package var tag: String?
    /// Directory of the backup, relative to the repository.
    package var directory: String
    /// Level 1: the backup this one holds the changes since (its parent in the chain).
    package var baseId: UInt64? = nil
    /// Level 1: changes since the last level 0 (cumulative) rather than since the last backup.
    package var cumulative: Bool? = nil
    /// Archival backup exempt from retention: until this date, or forever when `keepForever`.
    package var keepUntil: Date? = nil
    package var keepForever: Bool? = nil
    /// Pages stored (a level 1 stores only the changed ones); nil means every page.
    package var pagesStored: UInt64? = nil
    /// AVAILABLE, or EXPIRED once a crosscheck found its files gone or unreadable (nil: AVAILABLE).
    package var status: Status? = nil
    /// Archived-log backups: the logs the set holds.
    package var logs: [LogKey]? = nil
    /// The last periodic integrity check of the set (nil: never checked).
    package var integrityCheck: IntegrityCheckOutcome? = nil

    package var isDatabaseBackup: Bool { kind != .archivedLogs }
    package var isAvailable: Bool { (status ?? .available) == .available }
    package var isCumulative: Bool { cumulative ?? false }
    /// Kept out of retention at `now` (KEEP UNTIL date not yet passed, or KEEP FOREVER).
    package func isKept(at now: Date = Date()) -> Bool {
        (keepForever ?? false) || (keepUntil.map { $0 > now } ?? false)
    }

    /// The record of a verified backup described by its manifest.
    package init(manifest m: BackupManifest, bytes: UInt64, directory: String) {
        id = m.backupId; kind = m.kind; level = m.level; scn = m.scn; incarnation = m.incarnation
        pieces = m.files.count; self.bytes = bytes
        databaseBytes = UInt64(m.pageCount) * UInt64(m.pageSize); pageSize = m.pageSize; pageCount = m.pageCount
        stateChecksum = m.stateChecksum; compression = m.compression; startedAt = m.startedAt; completedAt = m.completedAt
        tag = m.tag; self.directory = directory
        baseId = m.baseId; cumulative = m.cumulative; keepUntil = m.keepUntil; keepForever = m.keepForever
        pagesStored = m.pagesStored; logs = m.logs?.map(\.key)
    }
}
