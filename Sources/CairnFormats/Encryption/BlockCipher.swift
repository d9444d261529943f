import Crypto
import Foundation

/// One encrypted file's cipher (`EncryptedFileFormat`): its own AES-256-GCM key and nonce
/// prefix, derived from the data key and the header's salt, and the associated data (the
/// header, the block index, the last-block flag). Not Sendable: the nonce and
/// associated-data buffers are reused for every block.
final class BlockCipher {
    static let info = Array("cairn encrypted file v1".utf8)
    static let nonceSize = 12

    private let key: SymmetricKey
    private let nonce: UnsafeMutableRawBufferPointer
    private let associatedData: UnsafeMutableRawBufferPointer
    private let headerSize: Int

    /// `header`: the file's encoded header, whose salt (bytes 40..<72) derives the key.
    init(header: [UInt8], salt: [UInt8], dataKey: DataKey) {
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: dataKey.material.symmetricKey, salt: salt, info: Self.info,
                                             outputByteCount: KeyMaterial.byteCount + 4)
        key = derived.withUnsafeBytes { SymmetricKey(data: UnsafeRawBufferPointer(rebasing: $0.prefix(KeyMaterial.byteCount))) }
        let nonce = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.nonceSize, alignment: 8)
        nonce.initializeMemory(as: UInt8.self, repeating: 0)
        derived.withUnsafeBytes { nonce.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.suffix(4))) }
        let associatedData = UnsafeMutableRawBufferPointer.allocate(byteCount: header.count + 9, alignment: 8)
        associatedData.initializeMemory(as: UInt8.self, repeating: 0)
        header.withUnsafeBytes { associatedData.copyMemory(from: $0) }
        self.nonce = nonce
        self.associatedData = associatedData
        headerSize = header.count
    }

    deinit {
        nonce.deallocate()
        associatedData.deallocate()
    }

    /// Sets the nonce and associated data for block `index`.
    private func prepare(index: UInt64, last: Bool) -> AES.GCM.Nonce? {
        nonce.storeBytes(of: index.bigEndian, toByteOffset: 4, as: UInt64.self)
        associatedData.storeBytes(of: index.littleEndian, toByteOffset: headerSize, as: UInt64.self)
        associatedData[headerSize + 8] = last ? 1 : 0
        return try? AES.GCM.Nonce(data: UnsafeRawBufferPointer(nonce))
    }

    /// Block `index` sealed; nil only if the crypto library fails.
    func seal(_ plaintext: UnsafeRawBufferPointer, index: UInt64, last: Bool) -> AES.GCM.SealedBox? {
        guard let n = prepare(index: index, last: last) else { return nil }
        return try? AES.GCM.seal(plaintext, using: key, nonce: n, authenticating: UnsafeRawBufferPointer(associatedData))
    }

    /// The plaintext of stored block `index` (ciphertext followed by the tag), or nil when it
    /// fails authentication.
    func open(_ stored: UnsafeRawBufferPointer, index: UInt64, last: Bool) -> Data? {
        let tag = EncryptedFileFormat.tagSize
        guard stored.count >= tag, let n = prepare(index: index, last: last) else { return nil }
        let ciphertext = UnsafeRawBufferPointer(rebasing: stored.prefix(stored.count - tag))
        let box = try? AES.GCM.SealedBox(nonce: n, ciphertext: ciphertext, tag: UnsafeRawBufferPointer(rebasing: stored.suffix(tag)))
        guard let box else { return nil }
        return try? AES.GCM.open(box, using: key, authenticating: UnsafeRawBufferPointer(associatedData))
    }
}

extension Data {
    /// The bytes, to code that throws `EngineError` (`withUnsafeBytes` rethrows untyped errors).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(EngineError) -> R) throws(EngineError) -> R {
        let r: Result<R, EngineError> = withUnsafeBytes { b in
            do throws(EngineError) { return .success(try body(b)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}
