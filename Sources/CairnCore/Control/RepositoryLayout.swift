import Foundation

/// Where things live in a repository directory:
///
///     <repo>/repository.json        identity (DBID, format version), checksummed
///     <repo>/control/cairn.ctl      a control-file copy
///     <repo>/backups/<id>/          one backup: manifest.json and piece-NNNN.cbp, or image.db
///     <repo>/backups/.partial-<id>/ a backup being written (removed if it fails)
///     <repo>/backups/.partial-<id>.lock  locked by the process writing it, for its whole life
///     <repo>/control/*.lock, pins/   locks between Cairn commands (see `RepositoryOperation`)
public struct RepositoryLayout: Sendable {
    public let root: String

    public init(root: String) { self.root = FileSystem.absolute(root) }

    public var identityFile: String { root + "/repository.json" }
    public var controlCopy: String { root + "/control/cairn.ctl" }
    public var backupsDirectory: String { root + "/backups" }
    /// Locks between Cairn processes (see `RepositoryOperation`).
    public var controlDirectory: String { root + "/control" }
    public var controlLockFile: String { controlDirectory + "/control.lock" }
    public var operationLockFile: String { controlDirectory + "/operation.lock" }
    public var filesLockFile: String { controlDirectory + "/files.lock" }
    public var deletionLockFile: String { controlDirectory + "/deletion.lock" }
    public var pinsDirectory: String { controlDirectory + "/pins" }
    func pinFile(backup id: UInt64) -> String { pinsDirectory + "/backup-\(id).lock" }
    func pinFile(log key: LogKey) -> String { pinsDirectory + "/log-\(key.incarnation)-\(key.sequence).lock" }
    /// Default directory of the online log members (the recovery area).
    public var onlineLogDirectory: String { root + "/online" }
    /// Default archive destination.
    public var archiveDirectory: String { root + "/archive" }
    /// Capture state: the page map and the capture lock.
    public var captureDirectory: String { root + "/capture" }
    public var pageMapFile: String { captureDirectory + "/pagemap" }
    public var captureLockFile: String { captureDirectory + "/capture.lock" }

    public static func backupDirectoryName(_ id: UInt64) -> String {
        let s = String(id)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    public func backupDirectory(_ id: UInt64) -> String { backupsDirectory + "/" + Self.backupDirectoryName(id) }
    public func partialDirectory(_ id: UInt64) -> String { backupsDirectory + "/" + Self.partialPrefix + Self.backupDirectoryName(id) }
    /// Locked by the process writing `partialDirectory(id)` for as long as it lives.
    public func partialOwnerLock(_ id: UInt64) -> String { partialDirectory(id) + Self.ownerLockSuffix }
    public static let partialPrefix = ".partial-"
    public static let ownerLockSuffix = ".lock"
    /// A backup being deleted is renamed to this prefix first (unreachable), then removed.
    public static let deletingPrefix = ".deleting-"

    /// Default repository for a database: a directory beside it.
    public static func defaultRoot(forDatabase db: String) -> String { FileSystem.absolute(db) + ".cairn" }

    /// The control-file copy kept beside the database, found from the database path alone.
    public static func besideDatabaseControlCopy(forDatabase db: String) -> String {
        let abs = FileSystem.absolute(db)
        let dir = FileSystem.parent(of: abs)
        let name = (abs as NSString).lastPathComponent
        return dir + "/." + name + ".cairn-control"
    }
}

/// The repository's identity document, so a repository can be matched to its database
/// without the control file.
public struct RepositoryIdentity: Codable, Sendable, Equatable {
    public static let kind = "repository"
    public var dbid: String
    public var databaseName: String
    public var createdAt: Date
    public var createdBy: String

    public static func read(_ layout: RepositoryLayout) throws(CairnError) -> RepositoryIdentity {
        let bytes = try FileSystem.readAll(layout.identityFile)
        let doc = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.repository, file: layout.identityFile)
        return try doc.decodeBody(RepositoryIdentity.self, file: layout.identityFile)
    }

    public func write(_ layout: RepositoryLayout) throws(CairnError) {
        let doc = CheckedDocument.make(self, kind: Self.kind, version: FormatVersion.repository, usn: 1)
        try FileSystem.atomicWrite(doc.encoded(), to: layout.identityFile)
    }
}
