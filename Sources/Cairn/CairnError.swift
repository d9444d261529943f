import Foundation

/// A failure of a Cairn operation: what happened (`message`), a stable `code` to branch on,
/// the file it concerns, the error underneath when there is one (an `errno` as
/// `POSIXError`), and what to do next (`remedy`).
public struct CairnError: Error, Sendable, CustomStringConvertible {
    /// A stable identifier of the kind of failure. New codes may be added in later releases;
    /// compare against the static members rather than switching exhaustively.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        /// The code as a string, e.g. `"not-found"`; stable across releases.
        public let rawValue: String
        /// A code from its string form.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The same as ``rawValue``.
        public var description: String { rawValue }

        /// Reading or writing a file, or an object in object storage, failed (see `underlying`).
        public static let ioFailed = Code(rawValue: "io-failed")
        /// The file system or the recovery area has no room left.
        public static let noSpace = Code(rawValue: "no-space")
        /// The file is not an SQLite database, or cannot use write-ahead logging.
        public static let notADatabase = Code(rawValue: "not-a-database")
        /// The database file, a backup, a log or another needed file is not there.
        public static let notFound = Code(rawValue: "not-found")
        /// The database is not registered with Cairn, or is already.
        public static let registration = Code(rawValue: "registration")
        /// Database, control file and repository do not belong together (different DBIDs).
        public static let identityMismatch = Code(rawValue: "identity-mismatch")
        /// A stored file failed its checksums or its format check.
        public static let corrupt = Code(rawValue: "corrupt")
        /// A file was written by a newer Cairn whose format this one cannot read.
        public static let unsupportedFormat = Code(rawValue: "unsupported-format")
        /// The request itself is not valid (an option out of range, a target that exists).
        public static let invalidRequest = Code(rawValue: "invalid-request")
        /// SQLite reported an error or the database was busy.
        public static let sqlite = Code(rawValue: "sqlite")
        /// Capture stopped, is already running, or found a gap or a replaced database.
        public static let capture = Code(rawValue: "capture")
        /// The asked point in time cannot be reached with the backups and logs there are.
        public static let unrecoverable = Code(rawValue: "unrecoverable")
        /// Another Cairn command holds a lock this one needed, for longer than it waits.
        public static let locked = Code(rawValue: "locked")
        /// The repository was opened read-only (from the repository alone).
        public static let readOnly = Code(rawValue: "read-only")
        /// The caller cancelled the operation.
        public static let cancelled = Code(rawValue: "cancelled")
    }

    /// The kind of failure, to branch on.
    public let code: Code
    /// What happened, to which file, and what to do next, in words.
    public let message: String
    /// The file or directory the failure concerns, when there is one.
    public let path: String?
    /// The error underneath (a `POSIXError` for a failed system call).
    public let underlying: (any Error & Sendable)?
    /// What to do next, when Cairn can tell.
    public let remedy: Remedy?

    /// A failure with the given parts; Cairn's operations build these themselves, the
    /// initializer is there for code that wraps Cairn and reports in the same form.
    public init(code: Code, message: String, path: String? = nil, underlying: (any Error & Sendable)? = nil, remedy: Remedy? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.underlying = underlying
        self.remedy = remedy
    }

    /// The ``message``.
    public var description: String { message }
}

/// What to do about a failure, as an action a program can take or a person can be told.
public struct Remedy: Sendable, Equatable {
    /// The step to take, with what it applies to.
    public enum Action: Sendable, Equatable {
        /// Register the database (`ProtectedDatabase.register`, `cairn init`).
        case register(database: String)
        /// Take a level-0 backup (a new chain begins there).
        case takeLevel0Backup(database: String)
        /// Make room on the file system holding `path`, or raise the recovery area's limit.
        case makeRoom(path: String)
        /// Run the operation again (later, when a lock is held).
        case retry
        /// Rebuild the control file from the repository.
        case rebuildCatalog(database: String, repository: String)
        /// Restore from another backup, or to a point that can be reached.
        case chooseAnotherPoint
        /// Check the file, the disk or the identity named in the message.
        case inspect(path: String)
    }
    /// The step to take.
    public let action: Action
    /// The same advice in words.
    public let explanation: String

    /// A remedy: the action and the same advice in words.
    public init(_ action: Action, _ explanation: String) {
        self.action = action
        self.explanation = explanation
    }
}
