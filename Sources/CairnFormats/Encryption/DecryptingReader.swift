import Foundation

/// Reads the plaintext of an encrypted file (`EncryptedFileFormat`) by offset: positional reads
/// of only the blocks a range needs, each authenticated before a byte of it is handed out.
/// Also reads sequentially (`read(into:)` from `position`).
///
/// Any failed block is an error naming the file, the block and its offset. A cut at a block
/// boundary is found when the (new) last block is read: `verify()` reads every block. Not
/// Sendable (it keeps the last block decrypted); open one reader per thread on a shared
/// `RawFile`.
package final class DecryptingReader {
    package let path: String
    package let header: EncryptedFileFormat.Header
    package let plaintextSize: UInt64
    package let encryptedSize: UInt64
    package let blockCount: UInt64
    /// Where `read(into:)` reads next.
    package var position: UInt64 = 0

    private let file: RawFile
    /// Where the encrypted file begins in `file`.
    private let base: UInt64
    private let cipher: BlockCipher
    private let blockSize: Int
    private let stored: UnsafeMutableRawPointer
    private var cachedIndex: UInt64?
    private var cached = Data()

    /// Opens the encrypted file `path`, taking its data key from `keys`.
    package convenience init(path: String, keys: UnlockedKeyring) throws(EngineError) {
        try self.init(file: RawFile(path: path, mode: .read), keys: keys)
    }

    /// Reads and checks the header and the file's size; throws `corrupt`, `truncated`,
    /// `unsupportedFormat`, or `dataKeyMissing` when `keys` lacks the file's data key.
    package convenience init(file: RawFile, keys: UnlockedKeyring) throws(EngineError) {
        try self.init(file: file) { (h: EncryptedFileFormat.Header) throws(EngineError) in try keys.dataKey(h.dataKeyID, for: file.path) }
    }

    /// Opens the encrypted `file`, taking its data key from `dataKey` (given the header).
    /// `region`: the encrypted file is the bytes of `file` from `region.base` on, `region.size`
    /// of them (a file inside a container, such as a snapshot); nil: the whole file.
    package init(file: RawFile, region: (base: UInt64, size: UInt64)? = nil,
                 dataKey: (EncryptedFileFormat.Header) throws(EngineError) -> DataKey) throws(EngineError) {
        let size: UInt64
        if let region { size = region.size } else { size = try file.size() }
        let base = region?.base ?? 0
        self.base = base
        var headerBytes = [UInt8](repeating: 0, count: EncryptedFileFormat.headerSize)
        let n = try headerBytes.withMutableBytes { (p, count) throws(EngineError) in try file.read(into: p, count: min(count, Int(clamping: size)), at: base) }
        if n < headerBytes.count { throw .truncated(file: file.path, expected: UInt64(headerBytes.count), actual: UInt64(n)) }
        header = try headerBytes.withBytes { (p, count) throws(EngineError) in
            try EncryptedFileFormat.Header.decode(UnsafeRawBufferPointer(start: p, count: count), file: file.path)
        }
        blockSize = header.blockSize
        guard let plaintext = EncryptedFileFormat.plaintextSize(ofEncryptedSize: size, blockSize: blockSize) else {
            let detail = "its size, \(size) bytes, is not one an encrypted file with \(blockSize)-byte blocks can have"
            throw .corrupt(file: file.path, offset: size, detail: detail + ": it was cut inside a block or bytes were added")
        }
        cipher = BlockCipher(header: headerBytes, salt: header.salt, dataKey: try dataKey(header))
        path = file.path
        self.file = file
        encryptedSize = size
        plaintextSize = plaintext
        blockCount = EncryptedFileFormat.blockCount(plaintextSize: plaintext, blockSize: blockSize)
        stored = .allocate(byteCount: blockSize + EncryptedFileFormat.tagSize, alignment: 4096)
    }

    deinit { stored.deallocate() }

    /// Copies plaintext from `offset` into `buffer`; returns the bytes copied (fewer only at
    /// the end of the plaintext, 0 from there on).
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(EngineError) -> Int {
        guard offset < plaintextSize else { return 0 }
        let end = min(plaintextSize, offset + UInt64(buffer.count))
        var at = offset
        while at < end {
            let index = at / UInt64(blockSize)
            let start = Int(at - index * UInt64(blockSize))
            let plain = try block(index)
            let n = min(plain.count - start, Int(end - at))
            let to = Int(at - offset)
            plain.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                UnsafeMutableRawBufferPointer(rebasing: buffer[to..<(to + n)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[start..<(start + n)]))
            }
            at += UInt64(n)
        }
        return Int(end - offset)
    }

    /// Reads from `position` on and advances it.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(EngineError) -> Int {
        let n = try read(into: buffer, at: position)
        position += UInt64(n)
        return n
    }

    /// The whole plaintext (for small files).
    package func readAll() throws(EngineError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(plaintextSize))
        _ = try out.withMutableBytes { (p, count) throws(EngineError) in try read(into: UnsafeMutableRawBufferPointer(start: p, count: count), at: 0) }
        return out
    }

    /// Hands each block's plaintext to `body` in order, from the one holding `position` (its
    /// part from `position` on) to the end, and moves `position` to the end: sequential reading
    /// without copying out (the bytes are valid only during each call).
    package func readBlocks(_ body: (UnsafeRawBufferPointer) throws(EngineError) -> Void) throws(EngineError) {
        while position < plaintextSize {
            let index = position / UInt64(blockSize)
            let start = Int(position - index * UInt64(blockSize))
            let plain = try block(index)
            try plain.withBytes { (b) throws(EngineError) in try body(UnsafeRawBufferPointer(rebasing: b[start...])) }
            position += UInt64(plain.count - start)
        }
    }

    /// Authenticates every block, the last one included (so a file cut at a block boundary
    /// is found); returns the plaintext size.
    @discardableResult
    package func verify() throws(EngineError) -> UInt64 {
        for index in 0..<blockCount { _ = try block(index) }
        return plaintextSize
    }

    /// The plaintext of block `index`, decrypted and authenticated (kept for the next read).
    private func block(_ index: UInt64) throws(EngineError) -> Data {
        if cachedIndex == index { return cached }
        let last = index == blockCount - 1
        let plain = last ? Int(plaintextSize - index * UInt64(blockSize)) : blockSize
        let count = plain + EncryptedFileFormat.tagSize
        let offset = EncryptedFileFormat.blockOffset(index, blockSize: blockSize)
        try file.readExactly(into: stored, count: count, at: base + offset)
        let bytes = UnsafeRawBufferPointer(start: stored, count: count)
        guard let opened = cipher.open(bytes, index: index, last: last) else { throw failure(index, bytes, offset: offset) }
        cachedIndex = index
        cached = opened
        return opened
    }

    private func failure(_ index: UInt64, _ bytes: UnsafeRawBufferPointer, offset: UInt64) -> EngineError {
        let last = index == blockCount - 1
        if last && cipher.open(bytes, index: index, last: false) != nil {
            let detail = "the file ends with block \(index), which was not written as the last block"
            return .corrupt(file: path, offset: encryptedSize,
                            detail: detail + ": it was cut at a block boundary (byte \(encryptedSize)) and the blocks after it are missing")
        }
        let first = index * UInt64(blockSize)
        let plaintext = "plaintext bytes \(first)..<\(first + UInt64(bytes.count - EncryptedFileFormat.tagSize))"
        let why = "its bytes were changed, it was moved from another position or another file, or the file was cut or extended"
        return .corrupt(file: path, offset: offset, detail: "block \(index) of \(blockCount) (\(plaintext), stored at byte \(offset)) failed authentication: \(why)")
    }
}
