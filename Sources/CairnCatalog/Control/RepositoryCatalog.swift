import Foundation
import CairnFormats

/// What the repository keeps about its database besides backup manifests and archived logs,
/// so that the repository alone is enough to restore and to rebuild the control file:
/// identity, incarnations, redo settings, backup records, restore points, retention policy
/// and gaps. Rewritten (atomically, checksummed) at registration and whenever one of them
/// changes: after every backup and every structural change, not on log switches (archived
/// logs are found by scanning the archive destinations).
///
/// The fields after `controlCopies` were added later; they are optional so catalogs written
/// before still decode (and older releases ignore them).
package struct RepositoryCatalog: Codable, Sendable, Equatable {
    package static let kind = "catalog"
    package var incarnations: [ControlFile.Incarnation]
    package var mode: LogMode
    package var memberDirectories: [String]
    package var groupCount: Int
    package var archiveDestinations: [String]
    package var minSucceed: Int
    package var logSizeBytes: UInt64
    package var archiveTimeoutSeconds: Double
    package var walTargetBytes: UInt64
    package var controlCopies: [String]
    package var dbid: String?
    /// Where the database and the repository were when the catalog was written (paths under
    /// `repository` are re-rooted when the repository is read from another place).
    package var databasePath: String?
    package var repository: String?
    package var incarnation: Int?
    package var nextBackupId: UInt64?
    package var backups: [BackupRecord]?
    package var restorePoints: [RestorePoint]?
    package var policy: Policy?
    package var gaps: [RedoState.Gap]?
    package var createdAt: Date?
    /// `cairn init --mode`, when given.
    package var fileMode: FileMode?
    /// The remote repositories, as URLs and modes (what was stored where is not kept here).
    package var remotes: [RemoteRepository]?
    /// Client-side encryption (the catalog itself is then encrypted).
    package var encryption: EncryptionSetting?

    init(_ c: ControlFile) {
        incarnations = c.incarnations
        mode = c.redo.mode
        memberDirectories = c.redo.memberDirectories
        groupCount = c.redo.groups.count
        archiveDestinations = c.redo.archiveDestinations
        minSucceed = c.redo.minSucceed
        logSizeBytes = c.redo.logSizeBytes
        archiveTimeoutSeconds = c.redo.archiveTimeoutSeconds
        walTargetBytes = c.redo.walTargetBytes
        controlCopies = c.controlCopies
        dbid = c.dbid
        databasePath = c.databasePath
        repository = c.repository
        incarnation = c.incarnation
        nextBackupId = c.nextBackupId
        backups = c.backups
        restorePoints = c.restorePoints
        policy = c.policy
        gaps = c.redo.gaps
        createdAt = c.createdAt
        fileMode = c.fileMode
        remotes = c.remotes?.map { RemoteRepository(url: $0.url, mode: $0.mode, addedAt: $0.addedAt) }
        encryption = c.encryption
    }

    package static func path(_ layout: RepositoryLayout) -> String { layout.root + "/catalog.json" }

    package static func write(_ c: ControlFile, layout: RepositoryLayout, usn: UInt64 = 1) throws(EngineError) {
        let doc = CheckedDocument.make(RepositoryCatalog(c), kind: kind, version: 1, usn: usn)
        try StoredFileWriter.atomicWrite(doc.encoded(), to: path(layout), keys: try layout.writingKeys(c.encryption))
    }

    package static func read(_ layout: RepositoryLayout) throws(EngineError) -> RepositoryCatalog {
        let p = path(layout)
        layout.registerKeyring()
        let doc = try CheckedDocument.decode(try StoredFile.readAll(p), kind: kind, maxVersion: 1, file: p)
        return try doc.decodeBody(RepositoryCatalog.self, file: p)
    }

    /// `path` with the repository's old root (when the catalog was written) replaced by `root`.
    package func rerooted(_ path: String, to root: String) -> String {
        guard let old = repository, old != root else { return path }
        if path == old { return root }
        if path.hasPrefix(old + "/") { return root + path.dropFirst(old.count) }
        return path
    }
}
