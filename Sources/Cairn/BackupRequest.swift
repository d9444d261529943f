import Foundation

/// What backup to take (``ProtectedDatabase/backup(_:progress:)``).
///
/// The default request is a compressed level-0 backup set with no tag, kept as long as the
/// retention policy needs it.
public struct BackupRequest: Sendable, Equatable {
    /// 0: every page. 1: only the pages changed since the last backup (level 0 or 1), or,
    /// when `cumulative`, since the last level 0. A level 1 with no base to build on is
    /// taken as a level 0.
    public var level: Int
    /// Level 1 only: changes since the last level 0 rather than the last backup.
    public var cumulative: Bool
    /// An image copy: a plain, usable database file instead of a compressed backup set.
    public var imageCopy: Bool
    /// zstd level of a backup set's pieces (1 to 19, negative for faster); nil stores pages uncompressed.
    public var compressionLevel: Int32?
    /// A label kept with the backup.
    public var tag: String?
    /// Kept past the retention policy until this date.
    public var keepUntil: Date?
    /// Kept past the retention policy for good (an archival backup).
    public var keepForever: Bool

    /// A request; every parameter has the meaning of the property of the same name, and the
    /// defaults give a level-0 backup set compressed at zstd level -1 (fast).
    public init(level: Int = 0, cumulative: Bool = false, imageCopy: Bool = false, compressionLevel: Int32? = -1,
                tag: String? = nil, keepUntil: Date? = nil, keepForever: Bool = false) {
        self.level = level
        self.cumulative = cumulative
        self.imageCopy = imageCopy
        self.compressionLevel = compressionLevel
        self.tag = tag
        self.keepUntil = keepUntil
        self.keepForever = keepForever
    }
}
