import CairnFormats

/// Assembles one record in a buffer, header space first; a body that outgrows the buffer is
/// written out as it comes and the header written last, at the record's start (so a record
/// cut short by a crash never has a valid header). In an encrypted log a transaction's body
/// goes through the log's `UnitSealer` first: what is buffered, written and hashed is sealed.
final class RecordSink {
    let start: UInt64
    private let headerSize: Int
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private let sealer: UnitSealer?
    /// The file offset of the buffer's first byte, and the bytes in it.
    private var base: UInt64
    private var used: Int
    private let bodyHash = StreamingHash()
    /// Body bytes stored so far.
    private(set) var bodyBytes: UInt64 = 0
    private(set) var checksum: UInt64 = 0

    /// `sealer`: the log's, for a transaction of an encrypted log.
    init(start: UInt64, headerSize: Int, buffer: UnsafeMutableRawPointer, capacity: Int, sealer: UnitSealer?) {
        self.start = start
        self.headerSize = headerSize
        self.buffer = buffer
        self.capacity = capacity
        self.sealer = sealer
        base = start
        used = headerSize
        sealer?.begin(recordAt: start)
    }

    var end: UInt64 { start + UInt64(headerSize) + bodyBytes }

    /// The body's stored length once finished (what the record's header says).
    var finishedBodyBytes: UInt64 { sealer.map { UInt64($0.sealedBodyBytes) } ?? bodyBytes }

    /// Takes body bytes (plaintext: sealed first in an encrypted log).
    func append(_ p: UnsafeRawPointer, _ n: Int, log: OnlineLogWriter) throws(EngineError) {
        guard let sealer else { return try store(p, n, log: log) }
        try sealer.append(p, n) { (q: UnsafeRawPointer, k: Int) throws(EngineError) in try store(q, k, log: log) }
    }

    private func store(_ p: UnsafeRawPointer, _ n: Int, log: OnlineLogWriter) throws(EngineError) {
        bodyHash.update(p, n)
        bodyBytes += UInt64(n)
        var done = 0
        while done < n {
            if used == capacity { try flush(log) }
            let k = min(n - done, capacity - used)
            (buffer + used).copyMemory(from: p + done, byteCount: k)
            used += k
            done += k
        }
    }

    /// Seals the last unit (authenticating the record's header with it), writes what is
    /// left and the header.
    func finish(_ r: RedoRecord, log: OnlineLogWriter, header: UnsafeMutableRawPointer) throws(EngineError) {
        if let sealer {
            r.encodeHeader(into: header, bodyHash: 0)
            try sealer.finish(recordHeader: UnsafeRawBufferPointer(start: header, count: headerSize - 8)) { (q: UnsafeRawPointer, k: Int) throws(EngineError) in
                try store(q, k, log: log)
            }
        }
        if base == start {
            r.encodeHeader(into: buffer, bodyHash: bodyHash.value)
            checksum = RedoRecord.storedChecksum(header: buffer, size: headerSize)
            try log.write(buffer, used, at: start)
            return
        }
        try flush(log)
        r.encodeHeader(into: header, bodyHash: bodyHash.value)
        checksum = RedoRecord.storedChecksum(header: header, size: headerSize)
        try log.write(header, headerSize, at: start)
    }

    private func flush(_ log: OnlineLogWriter) throws(EngineError) {
        // The header's space at the start stays unwritten until the body is complete.
        let skip = base == start ? headerSize : 0
        if used > skip { try log.write(buffer + skip, used - skip, at: base + UInt64(skip)) }
        base += UInt64(used)
        used = 0
    }
}

/// Cuts the bodies of an encrypted log's transactions into units and seals each (see
/// `RedoLogEncryption`), on two buffers reused for every record of the log. A full unit is
/// sealed once a byte after it arrives; the last one, at `finish`, with the record's header.
final class UnitSealer {
    let cipher: RedoLogCipher
    /// The log's (first member's) path, for messages.
    private let file: String
    private let unitSize: Int
    private let staging: UnsafeMutableRawPointer
    private let sealed: UnsafeMutableRawPointer
    private var used = 0
    private var index = 0
    private var recordOffset: UInt64 = 0
    private var plaintextBytes = 0

    init(cipher: RedoLogCipher, file: String) {
        self.cipher = cipher
        self.file = file
        unitSize = cipher.encryption.unitSize
        staging = .allocate(byteCount: unitSize, alignment: 64)
        sealed = .allocate(byteCount: unitSize + RedoLogEncryption.unitOverhead, alignment: 64)
    }

    deinit {
        staging.deallocate()
        sealed.deallocate()
    }

    func begin(recordAt offset: UInt64) {
        recordOffset = offset
        used = 0
        index = 0
        plaintextBytes = 0
    }

    /// The stored length of the body taken so far, once finished.
    var sealedBodyBytes: Int { cipher.encryption.sealedSize(plaintext: plaintextBytes) }

    func append(_ p: UnsafeRawPointer, _ n: Int, emit: PageChangeEncoder.Emit) throws(EngineError) {
        var done = 0
        while done < n {
            if used == unitSize { try seal(recordHeader: nil, emit: emit) }
            let k = min(n - done, unitSize - used)
            (staging + used).copyMemory(from: p + done, byteCount: k)
            used += k
            done += k
        }
        plaintextBytes += n
    }

    /// Seals the last unit; `recordHeader`: the record's header up to its checksum.
    func finish(recordHeader: UnsafeRawBufferPointer, emit: PageChangeEncoder.Emit) throws(EngineError) {
        try seal(recordHeader: recordHeader, emit: emit)
    }

    private func seal(recordHeader: UnsafeRawBufferPointer?, emit: PageChangeEncoder.Emit) throws(EngineError) {
        guard cipher.seal(UnsafeRawBufferPointer(start: staging, count: used), offset: recordOffset, index: index,
                          recordHeader: recordHeader, into: sealed) else {
            throw .cryptoFailed(operation: "encrypting unit \(index + 1) of the record at offset \(recordOffset)", file: file, detail: "AES-GCM seal failed")
        }
        try emit(sealed, used + RedoLogEncryption.unitOverhead)
        index += 1
        used = 0
    }
}
