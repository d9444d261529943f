import Foundation
import CairnCatalog

/// One backup recorded for a database.
public struct BackupSummary: Sendable, Equatable, Codable, Identifiable {
    /// What a backup holds and in which form.
    public enum Kind: String, Sendable, Codable {
        /// Database pages in compressed, checksummed pieces.
        case backupSet
        /// A plain database file.
        case imageCopy
        /// Archived logs, not pages.
        case archivedLogs
    }
    /// The backup's number, unique within the database's repository (pass it to
    /// ``ProtectedDatabase/restore(to:at:backup:replacing:progress:)`` or
    /// ``ProtectedDatabase/validate(backup:progress:)``).
    public let id: UInt64
    /// What the backup holds: pages in a backup set, a plain image copy, or archived logs.
    public let kind: Kind
    /// 0 for a full backup, 1 for an incremental one.
    public let level: Int
    /// The backup of level 0 or 1 a level 1 builds on.
    public let baseId: UInt64?
    /// The last transaction (system change number) the backup holds.
    public let scn: UInt64
    /// The incarnation of the database the backup was taken in.
    public let incarnation: Int
    /// Bytes stored in the repository.
    public let storedBytes: UInt64
    /// Size of the database the backup holds.
    public let databaseBytes: UInt64
    /// When the backup began.
    public let startedAt: Date
    /// When the backup was verified and recorded.
    public let completedAt: Date
    /// The label given with ``BackupRequest/tag``, if any.
    public let tag: String?
    /// False once a crosscheck found its files missing or damaged.
    public let available: Bool

    init(_ r: BackupRecord) {
        id = r.id
        kind = Kind(rawValue: r.kind.rawValue) ?? .backupSet
        level = r.level
        baseId = r.baseId
        scn = r.scn
        incarnation = r.incarnation
        storedBytes = r.bytes
        databaseBytes = r.databaseBytes
        startedAt = r.startedAt
        completedAt = r.completedAt
        tag = r.tag
        available = r.status != .expired
    }
}
