import Crypto
import Foundation

/// Encrypts a stream of bytes into the `EncryptedFileFormat`, appending to a sink: the
/// header at once, then each block as soon as it is full and more bytes follow (the last
/// block is sealed by `finish()`, flagged as the last).
///
/// Input is sealed straight from the caller's memory where whole blocks are available, and
/// gathered in one reused block-sized buffer otherwise. Not Sendable: one thread at a time
/// writes. After an error the output is unusable (remove it).
package final class EncryptingWriter<Sink: ByteSink> {
    /// The file written, named in messages.
    package let path: String
    package let header: EncryptedFileFormat.Header
    package private(set) var sink: Sink
    /// Plaintext bytes taken so far.
    package private(set) var plaintextSize: UInt64 = 0
    /// Bytes appended to the sink so far.
    package private(set) var encryptedSize: UInt64 = 0

    private let cipher: BlockCipher
    private let blockSize: Int
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private var nextBlock: UInt64 = 0
    private var finished = false

    /// Starts a file encrypted with `dataKey`; `masterKeyID` (the key that wraps it) is
    /// recorded for messages. Appends the header to `sink`.
    package init(sink: Sink, path: String, dataKey: DataKey, masterKeyID: EncryptionKeyID,
                 blockSize: Int = EncryptedFileFormat.defaultBlockSize) throws(EngineError) {
        guard EncryptedFileFormat.blockSizes.contains(blockSize) else {
            throw .invalidArgument("Encrypted block size \(blockSize) is out of range (\(EncryptedFileFormat.blockSizes)).")
        }
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        header = EncryptedFileFormat.Header(blockSize: blockSize, dataKeyID: dataKey.id, masterKeyID: masterKeyID, salt: salt)
        let headerBytes = header.encoded()
        cipher = BlockCipher(header: headerBytes, salt: salt, dataKey: dataKey)
        self.path = path
        self.sink = sink
        self.blockSize = blockSize
        staging = .allocate(byteCount: blockSize, alignment: 64)
        try emit(headerBytes)
    }

    /// Starts a file encrypted with the keyring's newest data key.
    package convenience init(sink: Sink, path: String, keys: UnlockedKeyring) throws(EngineError) {
        guard let key = keys.newest else {
            throw .invalidArgument("The keyring \(keys.file) holds no data key yet; add one before encrypting \(path).")
        }
        try self.init(sink: sink, path: path, dataKey: key, masterKeyID: keys.masterKeyID)
    }

    deinit { staging.deallocate() }

    package func write(_ bytes: UnsafeRawBufferPointer) throws(EngineError) {
        guard !finished else { throw .invalidArgument("\(path): bytes written after the encrypted file was finished") }
        var rest = bytes
        while !rest.isEmpty {
            if staged == blockSize { try sealStaging(last: false) }
            if staged == 0 && rest.count > blockSize {
                // A whole block with more after it: seal it where it is.
                try seal(UnsafeRawBufferPointer(rebasing: rest.prefix(blockSize)), last: false)
                rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(blockSize))
                continue
            }
            let n = min(blockSize - staged, rest.count)
            UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + n)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.prefix(n)))
            staged += n
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(n))
        }
        plaintextSize += UInt64(bytes.count)
    }

    /// Writes bytes borrowed from memory another owner keeps (a pipeline slot's).
    package func write(_ bytes: RawSpan) throws(EngineError) {
        try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(EngineError) in try write(b) }
    }

    package func write(_ bytes: [UInt8]) throws(EngineError) {
        try bytes.withBytes { (p, count) throws(EngineError) in try write(UnsafeRawBufferPointer(start: p, count: count)) }
    }

    /// Seals the last block (empty when nothing was written) and returns the encrypted size.
    /// Making the sink durable is the caller's (`SequentialWriter.finish()`, `RawFile.sync()`).
    @discardableResult
    package func finish() throws(EngineError) -> UInt64 {
        guard !finished else { return encryptedSize }
        try sealStaging(last: true)
        finished = true
        return encryptedSize
    }

    private func sealStaging(last: Bool) throws(EngineError) {
        try seal(UnsafeRawBufferPointer(rebasing: staging.prefix(staged)), last: last)
        staged = 0
    }

    private func seal(_ plaintext: UnsafeRawBufferPointer, last: Bool) throws(EngineError) {
        guard let box = cipher.seal(plaintext, index: nextBlock, last: last) else {
            throw .cryptoFailed(operation: "encrypting block \(nextBlock)", file: path, detail: "AES-GCM seal failed")
        }
        try box.ciphertext.withBytes { (b) throws(EngineError) in try emit(b) }
        try box.tag.withBytes { (b) throws(EngineError) in try emit(b) }
        nextBlock += 1
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws(EngineError) {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return }
        try sink.append(p, bytes.count)
        encryptedSize += UInt64(bytes.count)
    }

    private func emit(_ bytes: [UInt8]) throws(EngineError) {
        try bytes.withBytes { (p, count) throws(EngineError) in try emit(UnsafeRawBufferPointer(start: p, count: count)) }
    }
}
