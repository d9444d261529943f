import Foundation
import CairnFormats
import CairnCatalog

/// Client-side encryption of everything Cairn writes outside the database: turning it on,
/// rotating the master key, and the keys writers encrypt with.
extension Catalog {
    /// The unlocked keyring new files are encrypted with, nil when encryption is off.
    package func writingKeys() throws(EngineError) -> UnlockedKeyring? {
        try layout.writingKeys(control.encryption)
    }

    /// Turns encryption on with the master key in `keyFile`: makes the repository's keyring
    /// (one data key wrapped under it) unless it has one wrapped under that key already, and
    /// records it. Files written before stay as they are (and readable); every file written
    /// from now on is encrypted (online logs from the next log capture opens: a capture
    /// running now finishes its current log as it began it). Returns the master key's id.
    @discardableResult
    package func enableEncryption(keyFile: String) throws(EngineError) -> EncryptionKeyID {
        let path = FileSystem.absolute(keyFile)
        let master = try EncryptionKeyFile.read(path)
        let keyringFile = layout.keyringFile
        if FileSystem.exists(keyringFile) {
            let keyring = try Keyring.read(keyringFile)
            _ = try keyring.unlocked(with: master, file: keyringFile)
        } else {
            var keyring = Keyring()
            _ = try keyring.addDataKey(under: master, file: keyringFile)
            try keyring.write(keyringFile)
        }
        layout.registerKeyring(rememberedKeyFile: path)
        try transact { (c: inout ControlFile) throws(EngineError) in
            c.encryption = EncryptionSetting(masterKeyID: master.id.description, keyFile: path)
        }
        return master.id
    }

    /// Re-wraps every data key of the keyring under the master key in `newKeyFile` (the old
    /// one from the key file given, `CAIRN_ENCRYPTION_KEY_FILE`, or the remembered one); no
    /// data file is rewritten. Returns the new master key's id.
    @discardableResult
    package func rotateEncryptionKey(newKeyFile: String) throws(EngineError) -> EncryptionKeyID {
        guard let setting = control.encryption else {
            throw .invalidArgument("Encryption is not enabled for \(databasePath); enable it with `cairn configure DB encryption enable --key-file FILE`.")
        }
        let newPath = FileSystem.absolute(newKeyFile)
        let newMaster = try EncryptionKeyFile.read(newPath)
        let keyringFile = layout.keyringFile
        var keyring = try Keyring.read(keyringFile)
        let old = try KeyringRegistry.shared.masterKey(for: keyringFile, needing: keyring.masterKeyID, remembered: setting.keyFile)
        try keyring.rotate(to: newMaster, from: old, file: keyringFile)
        try keyring.write(keyringFile)
        layout.registerKeyring(rememberedKeyFile: newPath)
        try transact { (c: inout ControlFile) throws(EngineError) in
            c.encryption = EncryptionSetting(masterKeyID: newMaster.id.description, keyFile: newPath)
        }
        return newMaster.id
    }
}
