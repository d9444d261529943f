/// A keyring's data keys unwrapped with its master key: what encrypting writers and
/// decrypting readers take their keys from.
package struct UnlockedKeyring: Sendable {
    package let masterKeyID: EncryptionKeyID
    /// The keyring's path, named in messages.
    package let file: String
    private let keys: [DataKey]

    init(masterKeyID: EncryptionKeyID, file: String, keys: [DataKey]) {
        self.masterKeyID = masterKeyID
        self.file = file
        self.keys = keys
    }

    /// The data key new files are encrypted with (nil for an empty keyring).
    package var newest: DataKey? { keys.last }

    /// The data key `id`, which the file `encryptedFile` names; throws `dataKeyMissing`.
    package func dataKey(_ id: EncryptionKeyID, for encryptedFile: String) throws(EngineError) -> DataKey {
        guard let key = keys.first(where: { $0.id == id }) else {
            throw .dataKeyMissing(file: encryptedFile, keyID: id.description, keyring: file)
        }
        return key
    }
}
