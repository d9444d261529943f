import Foundation

/// A file Cairn wrote outside the database, opened for reading its plaintext by offset:
/// read as it is, or decrypted (`DecryptingReader`) when it starts with the encrypted file
/// magic, with the data key found through `KeyringRegistry`. Files written before encryption
/// was enabled stay readable as they are.
///
/// Not Sendable when encrypted (the reader keeps its last block): one per thread.
package final class StoredFile {
    package let path: String
    package let raw: RawFile
    private let decrypting: DecryptingReader?
    /// The plaintext's size.
    package let size: UInt64
    /// The size of the file as stored.
    package let storedSize: UInt64

    package var isEncrypted: Bool { decrypting != nil }
    /// Where the stored file begins in `raw` (a file inside a container, such as a snapshot).
    private let base: UInt64

    /// The stored file that is the `size` bytes of `file` from `base` on (a member of a
    /// container), decrypted with `dataKey` when it starts with the encrypted file magic.
    package init(file: RawFile, base: UInt64, size: UInt64,
                 dataKey: (EncryptedFileFormat.Header) throws(EngineError) -> DataKey) throws(EngineError) {
        path = file.path
        raw = file
        self.base = base
        storedSize = size
        if try Self.isEncrypted(file, at: base, size: size) {
            let reader = try DecryptingReader(file: file, region: (base, size), dataKey: dataKey)
            decrypting = reader
            self.size = reader.plaintextSize
        } else {
            decrypting = nil
            self.size = size
        }
    }

    package convenience init(path: String, registry: KeyringRegistry = .shared) throws(EngineError) {
        try self.init(file: RawFile(path: path, mode: .read), registry: registry)
    }

    package init(file: RawFile, registry: KeyringRegistry = .shared) throws(EngineError) {
        path = file.path
        raw = file
        base = 0
        storedSize = try file.size()
        if try Self.isEncrypted(file, size: storedSize) {
            let reader = try DecryptingReader(file: file) { (h: EncryptedFileFormat.Header) throws(EngineError) in
                try registry.dataKey(for: h, file: file.path)
            }
            decrypting = reader
            size = reader.plaintextSize
        } else {
            decrypting = nil
            size = storedSize
        }
    }

    /// Whether `file` starts with the encrypted file magic.
    package static func isEncrypted(_ file: RawFile, at base: UInt64 = 0, size: UInt64) throws(EngineError) -> Bool {
        guard size >= UInt64(EncryptedFileFormat.headerSize) else { return false }
        var magic = [UInt8](repeating: 0, count: EncryptedFileFormat.magic.count)
        let n = try magic.withMutableBytes { (p, count) throws(EngineError) in try file.read(into: p, count: count, at: base) }
        return n == magic.count && magic == EncryptedFileFormat.magic
    }

    /// Reads up to `count` plaintext bytes at `offset`; fewer only at the end.
    package func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) -> Int {
        guard let d = decrypting else {
            guard base != 0 else { return try raw.read(into: buffer, count: count, at: offset) }
            guard offset < size else { return 0 }
            return try raw.read(into: buffer, count: Int(min(UInt64(count), size - offset)), at: base + offset)
        }
        return try d.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: count), at: offset)
    }

    /// Reads exactly `count` plaintext bytes at `offset`, or throws `truncated`.
    package func readExactly(into buffer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) {
        guard decrypting != nil else {
            // A member of a container ends where the container says (a whole file is read as it is now).
            if base != 0, offset + UInt64(count) > size {
                throw .truncated(file: path, expected: base + offset + UInt64(count), actual: base + size)
            }
            return try raw.readExactly(into: buffer, count: count, at: base + offset)
        }
        let n = try read(into: buffer, count: count, at: offset)
        if n < count { throw .truncated(file: path, expected: offset + UInt64(count), actual: offset + UInt64(n)) }
    }

    /// The whole plaintext (small files).
    package func readAll() throws(EngineError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(size))
        let n = try out.withMutableBytes { (p, count) throws(EngineError) in try read(into: p, count: count, at: 0) }
        if n < out.count { out.removeLast(out.count - n) }
        return out
    }

    /// Authenticates every block of an encrypted file (nothing for a plain one).
    package func verify() throws(EngineError) { try decrypting?.verify() }

    package func adviseSequential() { raw.adviseSequential() }

    /// The plaintext of the file at `path`, decrypted when it is encrypted.
    package static func readAll(_ path: String, registry: KeyringRegistry = .shared) throws(EngineError) -> [UInt8] {
        try StoredFile(path: path, registry: registry).readAll()
    }
}
