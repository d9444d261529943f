import CairnFormats

/// Bytes on their way to a file: appended into one large buffer, reused for the whole file, and
/// written out (with the kernel asked to start writing them to the disk) each time it fills.
/// Values are formatted straight into it (`reserve`), so a row costs no allocation.
struct OutputBuffer: ~Copyable {
    static let capacity = 4 << 20
    /// Room `reserve` can always give: the longest fixed-size item (a number) and then some.
    static let largestItem = 64

    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private let file: RawFile
    /// Bytes written to the file so far.
    private(set) var written: UInt64 = 0

    init(file: RawFile) {
        self.file = file
        base = .allocate(capacity: Self.capacity)
    }

    deinit { base.deallocate() }

    /// Bytes handed over so far (written or waiting in the buffer).
    var total: UInt64 { written + UInt64(count) }

    /// Room for at least `n` bytes (at most `capacity`), written out first if needed; the caller
    /// writes there and then calls `advance`.
    @inline(__always)
    mutating func reserve(_ n: Int) throws(EngineError) -> UnsafeMutablePointer<UInt8> {
        if Self.capacity - count < n { try flush() }
        return base + count
    }

    @inline(__always)
    mutating func advance(_ n: Int) { count += n }

    @inline(__always)
    mutating func append(_ byte: UInt8) throws(EngineError) {
        if count == Self.capacity { try flush() }
        base[count] = byte
        count += 1
    }

    /// Appends `n` bytes of any length (a large one goes out in several pieces).
    mutating func append(_ p: UnsafePointer<UInt8>, _ n: Int) throws(EngineError) {
        var done = 0
        while done < n {
            if count == Self.capacity { try flush() }
            let k = min(n - done, Self.capacity - count)
            (base + count).update(from: p + done, count: k)
            count += k
            done += k
        }
    }

    mutating func append(_ s: StaticString) throws(EngineError) {
        try append(s.utf8Start, s.utf8CodeUnitCount)
    }

    /// For the script's fixed parts (a CREATE statement): not for values.
    mutating func append(_ s: String) throws(EngineError) {
        try append(Array(s.utf8))
    }

    mutating func append(_ bytes: [UInt8]) throws(EngineError) {
        try bytes.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(EngineError) in
            if let p = b.baseAddress { try append(p, b.count) }
        }
    }

    /// Writes what the buffer holds to the file and starts its writeback.
    mutating func flush() throws(EngineError) {
        guard count > 0 else { return }
        try file.write(base, count: count, at: written)
        file.startWriteback(offset: written, count: count)
        written += UInt64(count)
        count = 0
    }
}
