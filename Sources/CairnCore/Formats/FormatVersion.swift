/// Versions of Cairn's on-disk formats and of this release.
public enum FormatVersion {
    /// The release that writes files (recorded in every header).
    public static let release = "0.1.0"
    public static let releaseCode: UInt32 = 0x00_01_00
    /// Highest version of each format this release reads and the one it writes.
    public static let controlFile = 1
    public static let manifest = 1
    public static let backupPiece: UInt32 = 1
    public static let repository = 1
}
