import Foundation

/// Whether SQLite may restart its WAL before Cairn captured the frames.
public enum LogMode: String, Codable, Sendable {
    case archivelog = "ARCHIVELOG"
    case noarchivelog = "NOARCHIVELOG"
}

/// Redo configuration and bookkeeping kept in the control file.
public struct RedoState: Codable, Sendable, Equatable {
    public var mode: LogMode = .archivelog
    /// Directories that each hold one member of every online log group.
    public var memberDirectories: [String]
    public var groups: [LogGroup] = []
    /// Index into `groups` of the current online log.
    public var currentGroup: Int?
    /// Sequence of the current (or last) online log in the current incarnation.
    public var sequence: UInt64 = 0
    /// Page data per online log before a switch.
    public var logSizeBytes: UInt64 = 16 << 20
    /// A log with unarchived commits older than this is switched and archived.
    public var archiveTimeoutSeconds: Double = 10
    public var archiveDestinations: [String]
    public var minSucceed: Int = 1
    /// Cairn checkpoints the WAL once it holds this many bytes of captured frames.
    public var walTargetBytes: UInt64 = 4 << 20
    /// Where capture resumes: the last SCN made durable in a closed log or the page map.
    public var capture: CapturePoint?
    public var archivedScn: UInt64 = 0
    public var checkpointScn: UInt64 = 0
    public var logs: [LogRecord] = []
    public var gaps: [Gap] = []
    /// Why capture last stopped by itself (the database file was deleted or replaced), until
    /// capture runs again.
    public var captureStopped: CaptureStop?

    public init(memberDirectories: [String], archiveDestinations: [String]) {
        self.memberDirectories = memberDirectories
        self.archiveDestinations = archiveDestinations
        groups = (1...2).map { LogGroup(number: $0) }
    }

    public struct LogGroup: Codable, Sendable, Equatable {
        public enum Status: String, Codable, Sendable { case unused = "UNUSED", current = "CURRENT", active = "ACTIVE", inactive = "INACTIVE" }
        public var number: Int
        public var status: Status = .unused
        public var sequence: UInt64?
        public var incarnation: Int?
        public var staleMembers: [String] = []
        public init(number: Int) { self.number = number }
    }

    public func memberPaths(group: Int) -> [String] {
        memberDirectories.map { $0 + "/redo-g\(group).log" }
    }

    public struct CapturePoint: Codable, Sendable, Equatable {
        public var scn: UInt64
        public var incarnation: Int
        public var position: WALPosition
        public var stateChecksum: String
    }

    /// A capture that ended on its own because it could not go on.
    public struct CaptureStop: Codable, Sendable, Equatable {
        public var at: Date
        /// The last SCN captured before the stop.
        public var scn: UInt64
        public var detail: String
    }

    public struct Gap: Codable, Sendable, Equatable {
        /// The SCN that stands for the lost changes; recovery stops at `scn - 1`.
        public var scn: UInt64
        public var incarnation: Int
        public var detectedAt: Date
        public var detail: String
    }
}

/// One log sequence as recorded in the control file.
public struct LogRecord: Codable, Sendable, Equatable {
    /// EXPIRED: a crosscheck found no readable copy anywhere (destinations or log backups).
    public enum Status: String, Codable, Sendable { case online = "ONLINE", archived = "ARCHIVED", expired = "EXPIRED" }
    public var sequence: UInt64
    public var incarnation: Int
    public var group: Int
    public var lowScn: UInt64
    public var highScn: UInt64
    public var lowTime: Date?
    public var highTime: Date?
    public var records: Int
    public var bytes: UInt64
    public var xxh3: String
    public var status: Status
    public var destinations: [DestinationState]
    public var closedAt: Date
    /// Archived-log backup sets that hold this log (`cairn backup --archivelog`).
    public var backupSets: [UInt64]? = nil

    public var key: LogKey { LogKey(incarnation: incarnation, sequence: sequence) }

    public var fileName: String { LogRecord.fileName(incarnation: incarnation, sequence: sequence) }

    public static func fileName(incarnation: Int, sequence: UInt64) -> String {
        let s = String(sequence), i = String(incarnation)
        return "log-i" + String(repeating: "0", count: max(0, 4 - i.count)) + i + "-s" + String(repeating: "0", count: max(0, 8 - s.count)) + s + ".clog"
    }

    public struct DestinationState: Codable, Sendable, Equatable {
        /// DELETED: removed on purpose (`--delete-input`, obsolete, recovery-area space);
        /// EXPIRED: a crosscheck found the copy gone or damaged.
        public enum State: String, Codable, Sendable {
            case pending = "PENDING", archived = "ARCHIVED", failed = "FAILED", deleted = "DELETED", expired = "EXPIRED"
        }
        public var destination: String
        public var state: State
        public var attempts: Int = 0
        public var error: String?
        public var archivedAt: Date?
    }
}
