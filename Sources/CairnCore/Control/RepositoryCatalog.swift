import Foundation

/// What the repository keeps about its database besides backup manifests and archived logs,
/// so that the repository alone is enough to restore and to rebuild the control file:
/// identity, incarnations, redo settings, backup records, restore points, retention policy
/// and gaps. Rewritten (atomically, checksummed) at registration and whenever one of them
/// changes: after every backup and every structural change, not on log switches (archived
/// logs are found by scanning the archive destinations).
///
/// The fields after `controlCopies` were added later; they are optional so catalogs written
/// before still decode (and older releases ignore them).
public struct RepositoryCatalog: Codable, Sendable, Equatable {
    public static let kind = "catalog"
    public var incarnations: [ControlFile.Incarnation]
    public var mode: LogMode
    public var memberDirectories: [String]
    public var groupCount: Int
    public var archiveDestinations: [String]
    public var minSucceed: Int
    public var logSizeBytes: UInt64
    public var archiveTimeoutSeconds: Double
    public var walTargetBytes: UInt64
    public var controlCopies: [String]
    public var dbid: String?
    /// Where the database and the repository were when the catalog was written (paths under
    /// `repository` are re-rooted when the repository is read from another place).
    public var databasePath: String?
    public var repository: String?
    public var incarnation: Int?
    public var nextBackupId: UInt64?
    public var backups: [BackupRecord]?
    public var restorePoints: [RestorePoint]?
    public var policy: Policy?
    public var gaps: [RedoState.Gap]?
    public var createdAt: Date?
    /// `cairn init --mode`, when given.
    public var fileMode: FileMode?

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
    }

    static func path(_ layout: RepositoryLayout) -> String { layout.root + "/catalog.json" }

    static func write(_ c: ControlFile, layout: RepositoryLayout, usn: UInt64 = 1) throws(CairnError) {
        let doc = CheckedDocument.make(RepositoryCatalog(c), kind: kind, version: 1, usn: usn)
        try FileSystem.atomicWrite(doc.encoded(), to: path(layout))
    }

    static func read(_ layout: RepositoryLayout) throws(CairnError) -> RepositoryCatalog {
        let p = path(layout)
        let doc = try CheckedDocument.decode(try FileSystem.readAll(p), kind: kind, maxVersion: 1, file: p)
        return try doc.decodeBody(RepositoryCatalog.self, file: p)
    }

    /// `path` with the repository's old root (when the catalog was written) replaced by `root`.
    func rerooted(_ path: String, to root: String) -> String {
        guard let old = repository, old != root else { return path }
        if path == old { return root }
        if path.hasPrefix(old + "/") { return root + path.dropFirst(old.count) }
        return path
    }
}
