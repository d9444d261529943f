import Foundation
import CairnFormats

/// Where things live in a repository directory:
///
///     <repo>/repository.json        identity (DBID, format version), checksummed
///     <repo>/control/cairn.ctl      a control-file copy
///     <repo>/backups/<id>/          one backup: manifest.json and piece-NNNN.cbp, or image.db
///     <repo>/backups/.partial-<id>/ a backup being written (removed if it fails)
///     <repo>/backups/.partial-<id>.lock  locked by the process writing it, for its whole life
///     <repo>/control/*.lock, pins/   locks between Cairn commands (see `RepositoryOperation`)
package struct RepositoryLayout: Sendable {
    package let root: String

    package init(root: String) { self.root = FileSystem.absolute(root) }

    package var identityFile: String { root + "/repository.json" }
    package var controlCopy: String { root + "/control/cairn.ctl" }
    package var backupsDirectory: String { root + "/backups" }
    /// Locks between Cairn processes (see `RepositoryOperation`).
    package var controlDirectory: String { root + "/control" }
    package var controlLockFile: String { controlDirectory + "/control.lock" }
    package var operationLockFile: String { controlDirectory + "/operation.lock" }
    package var filesLockFile: String { controlDirectory + "/files.lock" }
    package var deletionLockFile: String { controlDirectory + "/deletion.lock" }
    package var pinsDirectory: String { controlDirectory + "/pins" }
    func pinFile(backup id: UInt64) -> String { pinsDirectory + "/backup-\(id).lock" }
    package func pinFile(log key: LogKey) -> String { pinsDirectory + "/log-\(key.incarnation)-\(key.sequence).lock" }
    /// Default directory of the online log members (the recovery area).
    package var onlineLogDirectory: String { root + "/online" }
    /// Default archive destination.
    package var archiveDirectory: String { root + "/archive" }
    /// Capture state: the page map and the capture lock.
    package var captureDirectory: String { root + "/capture" }
    package var pageMapFile: String { captureDirectory + "/pagemap" }
    package var captureLockFile: String { captureDirectory + "/capture.lock" }

    package static func backupDirectoryName(_ id: UInt64) -> String {
        let s = String(id)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    package func backupDirectory(_ id: UInt64) -> String { backupsDirectory + "/" + Self.backupDirectoryName(id) }
    package func partialDirectory(_ id: UInt64) -> String { backupsDirectory + "/" + Self.partialPrefix + Self.backupDirectoryName(id) }
    /// Locked by the process writing `partialDirectory(id)` for as long as it lives.
    package func partialOwnerLock(_ id: UInt64) -> String { partialDirectory(id) + Self.ownerLockSuffix }
    package static let partialPrefix = ".partial-"
    package static let ownerLockSuffix = ".lock"
    /// A backup being deleted is renamed to this prefix first (unreachable), then removed.
    package static let deletingPrefix = ".deleting-"

    /// Default repository for a database: a directory beside it.
    package static func defaultRoot(forDatabase db: String) -> String { FileSystem.absolute(db) + ".cairn" }

    /// The control-file copy kept beside the database, found from the database path alone.
    package static func besideDatabaseControlCopy(forDatabase db: String) -> String {
        let abs = FileSystem.absolute(db)
        let dir = FileSystem.parent(of: abs)
        let name = (abs as NSString).lastPathComponent
        return dir + "/." + name + ".cairn-control"
    }
}

/// The repository's identity document, so a repository can be matched to its database
/// without the control file.
package struct RepositoryIdentity: Codable, Sendable, Equatable {
    package static let kind = "repository"
    package var dbid: String
    package var databaseName: String
    package var createdAt: Date
    package var createdBy: String

    package static func read(_ layout: RepositoryLayout) throws(EngineError) -> RepositoryIdentity {
        let bytes = try FileSystem.readAll(layout.identityFile)
        let doc = try CheckedDocument.decode(bytes, kind: kind, maxVersion: FormatVersion.repository, file: layout.identityFile)
        return try doc.decodeBody(RepositoryIdentity.self, file: layout.identityFile)
    }

    package func write(_ layout: RepositoryLayout) throws(EngineError) {
        let doc = CheckedDocument.make(self, kind: Self.kind, version: FormatVersion.repository, usn: 1)
        try FileSystem.atomicWrite(doc.encoded(), to: layout.identityFile)
    }

    package init(dbid: String, databaseName: String, createdAt: Date, createdBy: String) {
        self.dbid = dbid
        self.databaseName = databaseName
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}
