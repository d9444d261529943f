/// Versions of Cairn's on-disk formats and of this release.
package enum FormatVersion {
    /// The release that writes files (recorded in every header).
    package static let release = "0.1.0"
    package static let releaseCode: UInt32 = 0x00_01_00
    /// Highest version of each format this release reads and the one it writes.
    package static let controlFile = 1
    package static let manifest = 1
    package static let backupPiece: UInt32 = 1
    package static let repository = 1
    package static let encryptedFile: UInt32 = 1
    package static let keyring = 1
    package static let snapshot = 1
}
