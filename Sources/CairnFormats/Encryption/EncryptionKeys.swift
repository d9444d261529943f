/// The key read from an encryption key file. It encrypts nothing but data keys (it wraps
/// them in a `Keyring`), so it can be replaced without rewriting any data.
package struct MasterKey: Sendable, CustomStringConvertible {
    package let id: EncryptionKeyID
    /// The file it was read from, named in messages.
    package let keyFile: String
    let material: KeyMaterial

    package init(material: KeyMaterial, keyFile: String) {
        self.material = material
        self.keyFile = keyFile
        id = material.fingerprint
    }

    package var description: String { "master key \(id) (\(keyFile))" }
}

/// A random key that encrypts files. It is stored only wrapped under a master key (in a
/// `Keyring`); files name it by its id in their headers.
package struct DataKey: Sendable, CustomStringConvertible {
    package let id: EncryptionKeyID
    let material: KeyMaterial

    package init(material: KeyMaterial) {
        self.material = material
        id = material.fingerprint
    }

    /// A new random data key.
    package static func random() -> DataKey { DataKey(material: .random()) }

    package var description: String { "data key \(id)" }
}
