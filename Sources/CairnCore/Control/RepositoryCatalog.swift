import Foundation

/// What the repository keeps about its database besides backups and archived logs, so the
/// control file can be rebuilt from the repository alone: incarnations and redo settings.
/// Rewritten at registration and whenever one of them changes.
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
    }

    static func path(_ layout: RepositoryLayout) -> String { layout.root + "/catalog.json" }

    static func write(_ c: ControlFile, layout: RepositoryLayout) throws(CairnError) {
        let doc = CheckedDocument.make(RepositoryCatalog(c), kind: kind, version: 1, usn: 1)
        try FileSystem.atomicWrite(doc.encoded(), to: path(layout))
    }

    static func read(_ layout: RepositoryLayout) throws(CairnError) -> RepositoryCatalog {
        let p = path(layout)
        let doc = try CheckedDocument.decode(try FileSystem.readAll(p), kind: kind, maxVersion: 1, file: p)
        return try doc.decodeBody(RepositoryCatalog.self, file: p)
    }
}
