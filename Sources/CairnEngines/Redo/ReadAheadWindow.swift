import CairnFormats

/// Bytes of a file read ahead of a reader that asks for many small pieces in order (a redo
/// log's record headers and bodies): one `pread` of `capacity` bytes serves the pieces that
/// fall inside it. The caller drops the window whenever the file may have changed under it
/// (a torn tail, a new size).
final class ReadAheadWindow {
    static let capacity = 256 << 10
    private let bytes: UnsafeMutableRawPointer
    private var start: UInt64 = 0
    private var count = 0

    init() { bytes = .allocate(byteCount: Self.capacity, alignment: 4096) }

    deinit { bytes.deallocate() }

    func drop() { count = 0 }

    /// Up to `wanted` bytes of `file` at `offset` (fewer at its end) into `out`; a large read
    /// goes to the file directly.
    func read(_ file: RawFile, into out: UnsafeMutableRawPointer, count wanted: Int, at offset: UInt64) throws(EngineError) -> Int {
        if wanted > Self.capacity / 4 { return try file.read(into: out, count: wanted, at: offset) }
        if !(offset >= start && offset + UInt64(wanted) <= start + UInt64(count)) {
            start = offset
            count = 0
            count = try file.read(into: bytes, count: Self.capacity, at: offset)
        }
        let n = min(wanted, Int(start + UInt64(count) - offset))
        out.copyMemory(from: bytes + Int(offset - start), byteCount: n)
        return n
    }
}
