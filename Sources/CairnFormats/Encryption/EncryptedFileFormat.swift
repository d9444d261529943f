/// Binary layout of an encrypted file (what every file Cairn writes outside the database goes
/// through when encryption is configured; callers compress before). Integers little-endian.
///
///     header  96 bytes  "CAIRNENC", version u32, release u32, cipher u32 (1 = AES-256-GCM),
///                       block size u32 (plaintext bytes per block), data key id u64,
///                       master key id u64 (the one that wrapped the data key when the file
///                       was written; for messages), salt 32 bytes (random), 0 × 16,
///                       xxh3 of bytes 0..<88
///     block*            ciphertext (block size bytes; the last block 0...block size) + tag 16
///
/// Every file has at least one block; only the last may be short, and it is empty only when
/// the whole file is (so sizes convert both ways without decrypting). Each file has its own
/// key, HKDF-SHA256(data key, salt, "cairn encrypted file v1") → 32-byte key + 4-byte nonce
/// prefix. Block i is sealed with nonce = prefix ‖ i (u64 big-endian) and associated data
/// = header (96 bytes) ‖ i (u64 LE) ‖ last (1 for the last block, else 0): a changed byte,
/// a block moved within the file or taken from another, a file cut at a block boundary or
/// inside a block all fail authentication.
package enum EncryptedFileFormat {
    package static let magic: [UInt8] = Array("CAIRNENC".utf8)
    package static let headerSize = 96
    package static let tagSize = 16
    /// Plaintext bytes per block: AES-GCM through swift-crypto was fastest at 32–128 KiB here
    /// (its per-call allocations turn into mmap/munmap above 128 KiB), and 64 KiB is a fine
    /// grain for random access.
    package static let defaultBlockSize = 64 << 10
    /// Block sizes a header may give (bounds what a reader allocates).
    package static let blockSizes = 1024...(16 << 20)

    package enum Cipher: UInt32, Sendable { case aes256GCM = 1 }

    package struct Header: Sendable, Equatable {
        package var version: UInt32 = FormatVersion.encryptedFile
        package var release: UInt32 = FormatVersion.releaseCode
        package var cipher: Cipher = .aes256GCM
        package var blockSize: Int
        package var dataKeyID: EncryptionKeyID
        package var masterKeyID: EncryptionKeyID
        /// 32 random bytes.
        package var salt: [UInt8]

        package init(blockSize: Int, dataKeyID: EncryptionKeyID, masterKeyID: EncryptionKeyID, salt: [UInt8]) {
            self.blockSize = blockSize
            self.dataKeyID = dataKeyID
            self.masterKeyID = masterKeyID
            self.salt = salt
        }

        /// The header bytes (`headerSize`).
        package func encoded() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: headerSize)
            out.withUnsafeMutableBytes { b in
                guard let p = b.baseAddress else { return }
                Seal.putMagic(magic, p)
                LE.put32(version, p, 8)
                LE.put32(release, p, 12)
                LE.put32(cipher.rawValue, p, 16)
                LE.put32(UInt32(blockSize), p, 20)
                LE.put64(dataKeyID.value, p, 24)
                LE.put64(masterKeyID.value, p, 32)
                for (i, byte) in salt.prefix(32).enumerated() { p.storeBytes(of: byte, toByteOffset: 40 + i, as: UInt8.self) }
                Seal.close(p, at: 88)
            }
            return out
        }

        /// Parses and checks `headerSize` bytes; throws `corrupt` or `unsupportedFormat` naming `file`.
        package static func decode(_ b: UnsafeRawBufferPointer, file: String) throws(EngineError) -> Header {
            guard b.count >= headerSize, let p = b.baseAddress else {
                throw .truncated(file: file, expected: UInt64(headerSize), actual: UInt64(b.count))
            }
            guard Seal.hasMagic(magic, p) else { throw .corrupt(file: file, offset: 0, detail: "not a Cairn encrypted file (bad magic)") }
            guard Seal.isIntact(p, at: 88) else { throw .corrupt(file: file, offset: 0, detail: "encrypted file header checksum mismatch") }
            let version = LE.get32(p, 8)
            if version == 0 || version > FormatVersion.encryptedFile {
                throw .unsupportedFormat(file: file, found: Int(version), supported: Int(FormatVersion.encryptedFile))
            }
            guard let cipher = Cipher(rawValue: LE.get32(p, 16)) else {
                throw .corrupt(file: file, offset: 16, detail: "unknown cipher \(LE.get32(p, 16))")
            }
            let blockSize = Int(LE.get32(p, 20))
            guard blockSizes.contains(blockSize) else { throw .corrupt(file: file, offset: 20, detail: "block size \(blockSize) out of range") }
            var h = Header(blockSize: blockSize, dataKeyID: EncryptionKeyID(value: LE.get64(p, 24)),
                           masterKeyID: EncryptionKeyID(value: LE.get64(p, 32)), salt: Array(b[40..<72]))
            h.version = version
            h.release = LE.get32(p, 12)
            h.cipher = cipher
            return h
        }
    }

    // MARK: - Sizes

    /// The size of the encrypted file holding `plaintext` bytes.
    package static func encryptedSize(ofPlaintextSize plaintext: UInt64, blockSize: Int = defaultBlockSize) -> UInt64 {
        UInt64(headerSize) + plaintext + UInt64(tagSize) * blockCount(plaintextSize: plaintext, blockSize: blockSize)
    }

    /// The plaintext size of an encrypted file of `encrypted` bytes, or nil when no encrypted
    /// file has that size (it was cut inside a block, or bytes were added).
    package static func plaintextSize(ofEncryptedSize encrypted: UInt64, blockSize: Int = defaultBlockSize) -> UInt64? {
        guard encrypted >= UInt64(headerSize + tagSize) else { return nil }
        let body = encrypted - UInt64(headerSize)
        let stored = UInt64(blockSize + tagSize)
        let full = body / stored
        let rest = body % stored
        if rest == 0 { return full * UInt64(blockSize) }
        // A short last block holds at least one byte, unless it is the only one.
        guard rest > UInt64(tagSize) || (full == 0 && rest == UInt64(tagSize)) else { return nil }
        return full * UInt64(blockSize) + rest - UInt64(tagSize)
    }

    /// How many blocks a file of `plaintext` bytes has (at least one).
    package static func blockCount(plaintextSize plaintext: UInt64, blockSize: Int) -> UInt64 {
        max(1, (plaintext + UInt64(blockSize) - 1) / UInt64(blockSize))
    }

    /// Where block `index` starts in the encrypted file.
    package static func blockOffset(_ index: UInt64, blockSize: Int) -> UInt64 {
        UInt64(headerSize) + index * UInt64(blockSize + tagSize)
    }
}
