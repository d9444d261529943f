import Foundation

/// Writes a new file front to back through a `SequentialWriter`, encrypting it
/// (`EncryptingWriter`, 64 KiB blocks) when `keys` is given, and hashing the bytes as they
/// are stored (XXH3, what a manifest records and a transfer check re-reads). Not Sendable:
/// one thread at a time appends.
package final class StoredFileWriter {
    package var path: String { sink.writer.path }
    private let sink: HashingSink
    private let encrypting: EncryptingWriter<HashingSink>?
    /// Plaintext bytes taken so far.
    package private(set) var size: UInt64 = 0

    /// Bytes written as they are before the stored file (a container's header): neither
    /// encrypted nor hashed, not in `size`, in `storedSize`.
    package let prefixSize: UInt64

    /// Creates `path` (which must not exist); encrypted with the newest data key of `keys`
    /// when given. `prefix` is written first, as it is (see `prefixSize`).
    package init(path: String, keys: UnlockedKeyring?, prefix: [UInt8] = []) throws(EngineError) {
        let writer = try SequentialWriter(path: path)
        if !prefix.isEmpty { try prefix.withBytes { (p, n) throws(EngineError) in try writer.append(p, n) } }
        prefixSize = UInt64(prefix.count)
        let sink = HashingSink(writer: writer)
        self.sink = sink
        encrypting = try keys.map { (k: UnlockedKeyring) throws(EngineError) in try EncryptingWriter(sink: sink, path: path, keys: k) }
    }

    package var isEncrypted: Bool { encrypting != nil }
    /// Bytes stored so far (all of them once finished), the prefix included.
    package var storedSize: UInt64 { sink.writer.size }
    /// XXH3 of the bytes stored so far after the prefix.
    package var storedHash: UInt64 { sink.hash.value }

    package func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        if let e = encrypting {
            try e.write(UnsafeRawBufferPointer(start: p, count: count))
        } else {
            try sink.append(p, count)
        }
        size += UInt64(count)
    }

    /// Appends bytes borrowed from memory another owner keeps (a pipeline slot's).
    package func append(_ bytes: RawSpan) throws(EngineError) {
        try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(EngineError) in
            try append(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count)
        }
    }

    package func append(_ bytes: [UInt8]) throws(EngineError) {
        try bytes.withBytes { (p, count) throws(EngineError) in try append(p, count) }
    }

    /// Seals the last block (when encrypting) and makes the file durable.
    package func finish() throws(EngineError) {
        try encrypting?.finish()
        try sink.writer.finish()
    }

    /// Writes `bytes` to a new file at `path` atomically and durably (a temporary file
    /// renamed into place), encrypted under `keys` when given.
    package static func atomicWrite(_ bytes: [UInt8], to path: String, keys: UnlockedKeyring?) throws(EngineError) {
        guard let keys else { return try FileSystem.atomicWrite(bytes, to: path) }
        try FileSystem.atomicWrite(to: path) { (f: RawFile) throws(EngineError) in
            let w = try EncryptingWriter(sink: FileAppender(file: f), path: path, keys: keys)
            try w.write(bytes)
            try w.finish()
        }
    }
}

/// Appends to a `SequentialWriter`, hashing every byte.
final class HashingSink: ByteSink {
    let writer: SequentialWriter
    let hash = StreamingHash()

    init(writer: SequentialWriter) { self.writer = writer }

    func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        try writer.append(p, count)
        hash.update(p, count)
    }
}
