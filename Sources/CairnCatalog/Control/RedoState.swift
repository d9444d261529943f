import Foundation
import CairnFormats

/// Whether SQLite may restart its WAL before Cairn captured the frames.
package enum LogMode: String, Codable, Sendable {
    case archivelog = "ARCHIVELOG"
    case noarchivelog = "NOARCHIVELOG"
}

/// Redo configuration and bookkeeping kept in the control file.
package struct RedoState: Codable, Sendable, Equatable {
    package var mode: LogMode = .archivelog
    /// Directories that each hold one member of every online log group.
    package var memberDirectories: [String]
    package var groups: [LogGroup] = []
    /// Index into `groups` of the current online log.
    package var currentGroup: Int?
    /// Sequence of the current (or last) online log in the current incarnation.
    package var sequence: UInt64 = 0
    /// Page data per online log before a switch.
    package var logSizeBytes: UInt64 = 16 << 20
    /// A log with unarchived commits older than this is switched and archived.
    package var archiveTimeoutSeconds: Double = 10
    /// How many times `cairn switch-log` asked a capture running elsewhere to switch: a capture
    /// switches when the count moves (it reads the control file at every round, and a resting
    /// one is woken when the file changes). Reaches a capture that no signal does (the agent's,
    /// one of many in its process).
    package var switchRequests: UInt64? = nil
    package var archiveDestinations: [String]
    package var minSucceed: Int = 1
    /// Cairn checkpoints the WAL once it holds this many bytes of captured frames.
    package var walTargetBytes: UInt64 = 4 << 20
    /// Where capture resumes: the last SCN made durable in a closed log or the page map.
    package var capture: CapturePoint?
    package var archivedScn: UInt64 = 0
    package var checkpointScn: UInt64 = 0
    package var logs: [LogRecord] = []
    package var gaps: [Gap] = []
    /// Why capture last stopped by itself (the database file was deleted or replaced), until
    /// capture runs again.
    package var captureStopped: CaptureStop?

    package init(memberDirectories: [String], archiveDestinations: [String]) {
        self.memberDirectories = memberDirectories
        self.archiveDestinations = archiveDestinations
        groups = (1...2).map { LogGroup(number: $0) }
    }

    package struct LogGroup: Codable, Sendable, Equatable {
        package enum Status: String, Codable, Sendable { case unused = "UNUSED", current = "CURRENT", active = "ACTIVE", inactive = "INACTIVE" }
        package var number: Int
        package var status: Status = .unused
        package var sequence: UInt64?
        package var incarnation: Int?
        package var staleMembers: [String] = []
        package init(number: Int) { self.number = number }
    }

    package func memberPaths(group: Int) -> [String] {
        memberDirectories.map { $0 + "/redo-g\(group).log" }
    }

    package struct CapturePoint: Codable, Sendable, Equatable {
        package var scn: UInt64
        package var incarnation: Int
        package var position: WALPosition
        package var stateChecksum: String

        package init(scn: UInt64, incarnation: Int, position: WALPosition, stateChecksum: String) {
            self.scn = scn
            self.incarnation = incarnation
            self.position = position
            self.stateChecksum = stateChecksum
        }
    }

    /// A capture that ended on its own because it could not go on.
    package struct CaptureStop: Codable, Sendable, Equatable {
        package var at: Date
        /// The last SCN captured before the stop.
        package var scn: UInt64
        package var detail: String

        package init(at: Date, scn: UInt64, detail: String) {
            self.at = at
            self.scn = scn
            self.detail = detail
        }
    }

    package struct Gap: Codable, Sendable, Equatable {
        /// The SCN that stands for the lost changes; recovery stops at `scn - 1`.
        package var scn: UInt64
        package var incarnation: Int
        package var detectedAt: Date
        package var detail: String
        package init(scn: UInt64, incarnation: Int, detectedAt: Date, detail: String) {
            self.scn = scn
            self.incarnation = incarnation
            self.detectedAt = detectedAt
            self.detail = detail
        }

    }
}

/// One log sequence as recorded in the control file.
package struct LogRecord: Codable, Sendable, Equatable {
    /// EXPIRED: a crosscheck found no readable copy anywhere (destinations or log backups).
    package enum Status: String, Codable, Sendable { case online = "ONLINE", archived = "ARCHIVED", expired = "EXPIRED" }
    package var sequence: UInt64
    package var incarnation: Int
    package var group: Int
    package var lowScn: UInt64
    package var highScn: UInt64
    package var lowTime: Date?
    package var highTime: Date?
    package var records: Int
    package var bytes: UInt64
    package var xxh3: String
    package var status: Status
    package var destinations: [DestinationState]
    package var closedAt: Date
    /// Archived-log backup sets that hold this log (`cairn backup --archivelog`).
    package var backupSets: [UInt64]? = nil

    package var key: LogKey { LogKey(incarnation: incarnation, sequence: sequence) }

    package var fileName: String { LogRecord.fileName(incarnation: incarnation, sequence: sequence) }

    package static func fileName(incarnation: Int, sequence: UInt64) -> String {
        let s = String(sequence), i = String(incarnation)
        return "log-i" + String(repeating: "0", count: max(0, 4 - i.count)) + i + "-s" + String(repeating: "0", count: max(0, 8 - s.count)) + s + ".clog"
    }

    package struct DestinationState: Codable, Sendable, Equatable {
        /// DELETED: removed on purpose (`--delete-input`, obsolete, recovery-area space);
        /// EXPIRED: a crosscheck found the copy gone or damaged.
        package enum State: String, Codable, Sendable {
            case pending = "PENDING", archived = "ARCHIVED", failed = "FAILED", deleted = "DELETED", expired = "EXPIRED"
        }
        package var destination: String
        package var state: State
        package var attempts: Int = 0
        package var error: String?
        package var archivedAt: Date?
        package init(destination: String, state: State, attempts: Int = 0, error: String? = nil, archivedAt: Date? = nil) {
            self.destination = destination
            self.state = state
            self.attempts = attempts
            self.error = error
            self.archivedAt = archivedAt
        }

    }

    package init(sequence: UInt64, incarnation: Int, group: Int, lowScn: UInt64, highScn: UInt64, lowTime: Date? = nil, highTime: Date? = nil, records: Int, bytes: UInt64, xxh3: String, status: Status, destinations: [DestinationState], closedAt: Date, backupSets: [UInt64]? = nil) {
        self.sequence = sequence
        self.incarnation = incarnation
        self.group = group
        self.lowScn = lowScn
        self.highScn = highScn
        self.lowTime = lowTime
        self.highTime = highTime
        self.records = records
        self.bytes = bytes
        self.xxh3 = xxh3
        self.status = status
        self.destinations = destinations
        self.closedAt = closedAt
        self.backupSets = backupSets
    }
}
