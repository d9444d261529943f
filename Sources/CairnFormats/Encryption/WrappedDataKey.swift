import Crypto
import Foundation

/// A data key sealed with AES-256-GCM under a master key, as a keyring stores it:
/// nonce (12 bytes, random) + the sealed key (32) + tag (16). The associated data binds the
/// seal to both ids ("cairn data key v1", data key id u64 LE, master key id u64 LE), so an
/// entry cannot be passed off as another key's.
package struct WrappedDataKey: Sendable, Equatable {
    static let sealedCount = 12 + KeyMaterial.byteCount + 16

    package let id: EncryptionKeyID
    package let masterKeyID: EncryptionKeyID
    package let created: Date
    /// `sealedCount` bytes.
    let sealed: [UInt8]

    /// `key` sealed under `master`; `file` (the keyring) is named if the crypto library fails.
    static func wrap(_ key: DataKey, under master: MasterKey, created: Date, file: String) throws(EngineError) -> WrappedDataKey {
        let ad = associatedData(id: key.id, masterKeyID: master.id)
        let box: AES.GCM.SealedBox
        do {
            box = try key.material.withUnsafeBytes { try AES.GCM.seal($0, using: master.material.symmetricKey, authenticating: ad) }
        } catch {
            throw .cryptoFailed(operation: "wrapping data key \(key.id)", file: file, detail: "\(error)")
        }
        guard let combined = box.combined, combined.count == sealedCount else {
            throw .cryptoFailed(operation: "wrapping data key \(key.id)", file: file, detail: "unexpected sealed size")
        }
        return WrappedDataKey(id: key.id, masterKeyID: master.id, created: created, sealed: Array(combined))
    }

    /// The data key, unsealed with `master`. Throws `wrongEncryptionKey` when `master` is not
    /// the key it was wrapped under, `corrupt` when the entry was changed.
    func unwrap(with master: MasterKey, keyring file: String) throws(EngineError) -> DataKey {
        guard master.id == masterKeyID else {
            throw .wrongEncryptionKey(file: file, expected: masterKeyID.description, keyFile: master.keyFile, found: master.id.description)
        }
        let detail = "the entry of data key \(id) does not unseal under master key \(masterKeyID), whose key file was given: the entry was changed"
        let damaged = EngineError.corrupt(file: file, offset: nil, detail: detail)
        let opened: Data
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            opened = try AES.GCM.open(box, using: master.material.symmetricKey, authenticating: Self.associatedData(id: id, masterKeyID: masterKeyID))
        } catch {
            throw damaged
        }
        guard let material = opened.withUnsafeBytes({ KeyMaterial(bytes: $0) }) else { throw damaged }
        let key = DataKey(material: material)
        guard key.id == id else { throw damaged }
        return key
    }

    static func associatedData(id: EncryptionKeyID, masterKeyID: EncryptionKeyID) -> [UInt8] {
        var ad = Array("cairn data key v1".utf8)
        withUnsafeBytes(of: id.value.littleEndian) { ad.append(contentsOf: $0) }
        withUnsafeBytes(of: masterKeyID.value.littleEndian) { ad.append(contentsOf: $0) }
        return ad
    }
}
