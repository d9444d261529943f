import Foundation
import CairnEngines

/// What ``ProtectedDatabase/clone(to:at:register:progress:)`` made: a copy of the database as
/// of a point that is a database of its own.
public struct CloneSummary: Sendable, Equatable, Codable {
    /// The clone's path.
    public let path: String
    /// The clone's own DBID (never the source's).
    public let dbid: UInt64
    /// The source's DBID.
    public let sourceDbid: UInt64
    /// The point the clone is at.
    public let scn: UInt64
    /// When registered: the clone's repository and its first level-0 backup.
    public let repository: String?
    public let backupId: UInt64?

    init(_ r: CloneResult) {
        path = r.path
        dbid = UInt64(r.dbid) ?? 0
        sourceDbid = UInt64(r.sourceDbid) ?? 0
        scn = r.recovery.scn
        repository = r.repository
        backupId = r.backupId
    }
}
