/// Where an `EncryptingWriter` puts the encrypted bytes, front to back.
package protocol ByteSink {
    mutating func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError)
}

extension SequentialWriter: ByteSink {}

/// Appends to an open file with positional writes from `offset` on.
package final class FileAppender: ByteSink {
    package let file: RawFile
    package private(set) var offset: UInt64

    package init(file: RawFile, offset: UInt64 = 0) {
        self.file = file
        self.offset = offset
    }

    package func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        try file.write(p, count: count, at: offset)
        offset += UInt64(count)
    }
}

/// Collects the bytes in memory (small documents, tests).
package struct ByteArraySink: ByteSink {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: count))
    }
}
