import Foundation
import CairnFormats

/// Client-side encryption of a database's files outside the database (`cairn init
/// --encryption-key-file`, `cairn configure DB encryption enable`), as the control file and
/// the repository's catalog record it. The keyring (`<repo>/keyring`) holds the data keys
/// wrapped under the master key; the master key itself is never stored, only the path of
/// its key file (for processes that write without being given it, such as capture workers).
package struct EncryptionSetting: Codable, Sendable, Equatable {
    /// The master key the keyring is wrapped under (16 hex digits).
    package var masterKeyID: String
    /// The key file given when encryption was enabled or the key last rotated.
    package var keyFile: String?

    package init(masterKeyID: String, keyFile: String?) {
        self.masterKeyID = masterKeyID
        self.keyFile = keyFile
    }
}

extension RepositoryLayout {
    /// The repository's keyring: the data keys, wrapped under the master key.
    package var keyringFile: String { root + "/keyring" }

    /// Registers the repository's keyring (if it has one) so encrypted files in it can be read.
    package func registerKeyring(rememberedKeyFile: String? = nil) {
        KeyringRegistry.shared.register(keyring: keyringFile, rememberedKeyFile: rememberedKeyFile)
    }

    /// The unlocked keyring new files are encrypted with under `setting`, nil when encryption
    /// is off. Throws when the master key is not given, not found, or not the keyring's.
    package func writingKeys(_ setting: EncryptionSetting?) throws(EngineError) -> UnlockedKeyring? {
        guard let setting else { return nil }
        return try KeyringRegistry.shared.unlocked(keyring: keyringFile, rememberedKeyFile: setting.keyFile)
    }
}
