import Crypto
import Foundation

/// One encrypted redo log's cipher (`RedoLogEncryption`): its AES-256-GCM key, derived from
/// the data key and the header's salt, and the associated data of its units, on buffers
/// reused for every unit. Not Sendable: one writer or reader at a time.
package final class RedoLogCipher {
    static let info = Array("cairn redo log v1".utf8)

    package let encryption: RedoLogEncryption
    private let key: SymmetricKey
    /// The log header, then offset u64, unit index u32, last u8, then (last unit) the record header.
    private let associatedData: UnsafeMutableRawBufferPointer
    private let headerSize: Int

    /// `header`: the log's header; `dataKey`: the key it names. Nil for a plain log's header.
    package init?(header: RedoLogFormat.Header, dataKey: DataKey) {
        guard let e = header.encryption else { return nil }
        encryption = e
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: dataKey.material.symmetricKey, salt: e.salt, info: Self.info,
                                     outputByteCount: KeyMaterial.byteCount)
        headerSize = header.size
        let ad = UnsafeMutableRawBufferPointer.allocate(byteCount: headerSize + 13 + RedoLogFormat.maxRecordHeaderSize, alignment: 8)
        ad.initializeMemory(as: UInt8.self, repeating: 0)
        RedoLogFormat.encodeHeader(header, into: ad.baseAddress!)
        associatedData = ad
    }

    deinit { associatedData.deallocate() }

    /// The cipher of the log whose header is `header` (at `file`), with the data key it names
    /// found through `registry`; nil for a plain log. Throws when the key is not available.
    package static func forLog(_ header: RedoLogFormat.Header, file: String, registry: KeyringRegistry = .shared) throws(EngineError) -> RedoLogCipher? {
        guard let e = header.encryption else { return nil }
        return RedoLogCipher(header: header, dataKey: try registry.dataKey(e.dataKeyID, masterKeyID: e.masterKeyID, file: file))
    }

    /// The associated data of unit `index` of the record at `offset` (`recordHeader`: the
    /// record's header up to its checksum, for the last unit).
    private func prepare(offset: UInt64, index: Int, recordHeader: UnsafeRawBufferPointer?) -> UnsafeRawBufferPointer {
        let p = associatedData.baseAddress!
        LE.put64(offset, p, headerSize)
        LE.put32(UInt32(truncatingIfNeeded: index), p, headerSize + 8)
        p.storeBytes(of: recordHeader == nil ? 0 : 1, toByteOffset: headerSize + 12, as: UInt8.self)
        var count = headerSize + 13
        if let h = recordHeader, let base = h.baseAddress {
            let n = min(h.count, RedoLogFormat.maxRecordHeaderSize)
            (p + count).copyMemory(from: base, byteCount: n)
            count += n
        }
        return UnsafeRawBufferPointer(start: p, count: count)
    }

    /// Seals `plaintext` (at most `unitSize` bytes) as unit `index` of the record at `offset`,
    /// with a fresh random nonce, into `out` (`plaintext.count + unitOverhead` bytes).
    /// `recordHeader` is given for the last unit only. False only if the crypto library fails.
    package func seal(_ plaintext: UnsafeRawBufferPointer, offset: UInt64, index: Int, recordHeader: UnsafeRawBufferPointer?,
                      into out: UnsafeMutableRawPointer) -> Bool {
        let ad = prepare(offset: offset, index: index, recordHeader: recordHeader)
        guard let box = try? AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: ad) else { return false }
        let n = RedoLogEncryption.nonceSize
        box.nonce.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: n) }
        box.ciphertext.withUnsafeBytes { if let b = $0.baseAddress { (out + n).copyMemory(from: b, byteCount: $0.count) } }
        box.tag.withUnsafeBytes { (out + n + plaintext.count).copyMemory(from: $0.baseAddress!, byteCount: RedoLogEncryption.tagSize) }
        return true
    }

    /// Opens stored unit `index` of the record at `offset` (nonce, ciphertext, tag) into `out`
    /// (`stored.count - unitOverhead` bytes); false when it fails authentication.
    package func open(_ stored: UnsafeRawBufferPointer, offset: UInt64, index: Int, recordHeader: UnsafeRawBufferPointer?,
                      into out: UnsafeMutableRawPointer) -> Bool {
        let n = RedoLogEncryption.nonceSize, tag = RedoLogEncryption.tagSize
        guard stored.count >= n + tag,
              let nonce = try? AES.GCM.Nonce(data: UnsafeRawBufferPointer(rebasing: stored.prefix(n))),
              let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: UnsafeRawBufferPointer(rebasing: stored[n..<(stored.count - tag)]),
                                               tag: UnsafeRawBufferPointer(rebasing: stored.suffix(tag))) else { return false }
        let ad = prepare(offset: offset, index: index, recordHeader: recordHeader)
        guard let plain = try? AES.GCM.open(box, using: key, authenticating: ad) else { return false }
        plain.withUnsafeBytes { if let b = $0.baseAddress { out.copyMemory(from: b, byteCount: $0.count) } }
        return true
    }

    /// Opens the stored body of the record at `offset` (`count` bytes at `stored`; its header
    /// up to the checksum in `recordHeader`) into `out`, which holds its plaintext size.
    /// Returns that size; throws `corrupt` naming `file` when a unit fails authentication.
    package func openBody(_ stored: UnsafeRawPointer, count: Int, offset: UInt64, recordHeader: UnsafeRawBufferPointer,
                          into out: UnsafeMutableRawPointer, file: String) throws(EngineError) -> Int {
        guard let plain = encryption.plaintextSize(sealed: count) else {
            throw .corrupt(file: file, offset: offset, detail: "the encrypted record's body of \(count) bytes is not a whole number of sealed units")
        }
        let units = encryption.unitCount(plaintext: plain)
        var from = 0, to = 0
        for i in 0..<units {
            let n = i == units - 1 ? plain - to : encryption.unitSize
            let unit = UnsafeRawBufferPointer(start: stored + from, count: n + RedoLogEncryption.unitOverhead)
            guard open(unit, offset: offset, index: i, recordHeader: i == units - 1 ? recordHeader : nil, into: out + to) else {
                throw .corrupt(file: file, offset: offset,
                               detail: "sealed unit \(i + 1) of \(units) of the record at offset \(offset) fails authentication (damaged, moved or not encrypted with data key \(encryption.dataKeyID))")
            }
            from += unit.count
            to += n
        }
        return plain
    }
}
