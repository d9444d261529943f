/// How a redo log is encrypted (version 3 logs, `RedoLogFormat`): the 64 bytes after the
/// log's fixed header, and the layout of a sealed record body. Little-endian.
///
///     64  cipher u32 (1 = AES-256-GCM), unit size u32 (plaintext bytes per sealed unit),
///         data key id u64, master key id u64 (the one that wrapped the data key when the log
///         was written; for messages), salt 32 bytes (random), xxh3 of bytes 64..<120
///
/// The log's key is HKDF-SHA256(data key, salt, "cairn redo log v1"). The body of every
/// transaction record ("TXN2"; its page changes, compressed) is cut into units of `unitSize`
/// plaintext bytes (the last one shorter, possibly empty: every transaction has at least
/// one), each stored as nonce 12 (random) ‖ ciphertext ‖ tag 16 and sealed with associated
/// data = the log's header (128 bytes: DBID, incarnation, sequence, creation time, salt) ‖
/// record offset u64 ‖ unit index u32 ‖ last u8, and for the last unit the record's header
/// up to its checksum (so its SCN, state checksum, WAL position and length are authenticated
/// too). A fresh nonce per unit means bytes rewritten at the same offset (a record streamed
/// body first, a torn tail overwritten after a crash) never reuse one; the associated data
/// means a unit moved within the log, taken from another record or log, or cut off fails.
///
/// What stays plaintext holds no database content: the log header, record headers (kind,
/// page count, SCN, commit time, database size in pages, state checksum, WAL position, body
/// length, checksum), gap records (headers only) and the trailer. The record checksum (XXH3)
/// covers the stored (sealed) body, so a log's structure, torn tail and trailer are checked
/// without the key; only reading pages needs it.
package struct RedoLogEncryption: Sendable, Equatable {
    package static let size = 64
    package static let nonceSize = 12
    package static let tagSize = 16
    /// Bytes a sealed unit adds to its plaintext.
    package static let unitOverhead = nonceSize + tagSize
    /// Plaintext bytes per unit: swift-crypto's AES-GCM is fastest at 32–128 KiB, and most
    /// records are one unit.
    package static let defaultUnitSize = 64 << 10
    /// Unit sizes a header may give (bounds what a reader allocates).
    package static let unitSizes = 1024...(16 << 20)

    package var cipher: EncryptedFileFormat.Cipher = .aes256GCM
    package var unitSize: Int = defaultUnitSize
    package var dataKeyID: EncryptionKeyID
    package var masterKeyID: EncryptionKeyID
    /// 32 random bytes.
    package var salt: [UInt8]

    package init(dataKeyID: EncryptionKeyID, masterKeyID: EncryptionKeyID, salt: [UInt8]) {
        self.dataKeyID = dataKeyID
        self.masterKeyID = masterKeyID
        self.salt = salt
    }

    /// A new log's encryption under `dataKey` (a fresh random salt).
    package static func new(dataKey: DataKey, masterKeyID: EncryptionKeyID) -> RedoLogEncryption {
        var generator = SystemRandomNumberGenerator()
        return RedoLogEncryption(dataKeyID: dataKey.id, masterKeyID: masterKeyID,
                                 salt: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    func encode(into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        LE.put32(cipher.rawValue, p, 0)
        LE.put32(UInt32(unitSize), p, 4)
        LE.put64(dataKeyID.value, p, 8)
        LE.put64(masterKeyID.value, p, 16)
        for (i, byte) in salt.prefix(32).enumerated() { p.storeBytes(of: byte, toByteOffset: 24 + i, as: UInt8.self) }
        Seal.close(p, at: 56)
    }

    static func decode(_ p: UnsafeRawPointer, file: String) throws(EngineError) -> RedoLogEncryption {
        let at = UInt64(RedoLogFormat.headerSize)
        guard Seal.isIntact(p, at: 56) else { throw .corrupt(file: file, offset: at, detail: "redo log encryption header checksum mismatch") }
        guard let cipher = EncryptedFileFormat.Cipher(rawValue: LE.get32(p, 0)) else {
            throw .corrupt(file: file, offset: at, detail: "unknown cipher \(LE.get32(p, 0))")
        }
        let unit = Int(LE.get32(p, 4))
        guard unitSizes.contains(unit) else { throw .corrupt(file: file, offset: at + 4, detail: "sealed unit size \(unit) out of range") }
        var e = RedoLogEncryption(dataKeyID: EncryptionKeyID(value: LE.get64(p, 8)), masterKeyID: EncryptionKeyID(value: LE.get64(p, 16)),
                                  salt: Array(UnsafeRawBufferPointer(start: p + 24, count: 32)))
        e.cipher = cipher
        e.unitSize = unit
        return e
    }

    // MARK: - Sizes

    /// How many units a body of `plaintext` bytes is sealed in (at least one).
    package func unitCount(plaintext: Int) -> Int { max(1, (plaintext + unitSize - 1) / unitSize) }

    /// The stored size of a body of `plaintext` bytes.
    package func sealedSize(plaintext: Int) -> Int { plaintext + Self.unitOverhead * unitCount(plaintext: plaintext) }

    /// The plaintext size of a stored body of `sealed` bytes, or nil when no body has that size.
    package func plaintextSize(sealed: Int) -> Int? {
        let stored = unitSize + Self.unitOverhead
        guard sealed >= Self.unitOverhead else { return nil }
        let full = sealed / stored
        let rest = sealed % stored
        if rest == 0 { return full * unitSize }
        // A short last unit holds at least one byte, unless it is the only one.
        guard rest > Self.unitOverhead || (full == 0 && rest == Self.unitOverhead) else { return nil }
        return full * unitSize + rest - Self.unitOverhead
    }
}
