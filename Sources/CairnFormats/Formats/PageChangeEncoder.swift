/// Writes the body of compact transaction records (see `PageChangeFormat`): each page as a
/// change against its newest version earlier in the same log when that is at hand and the
/// change is small, else whole; chunk by chunk, compressed, handed to `emit` in order.
/// One per log writer; its cache must be emptied when a new log begins.
package final class PageChangeEncoder {
    package typealias Emit = (UnsafeRawPointer, Int) throws(EngineError) -> Void

    package let pageSize: Int
    package let cache: PageVersionCache
    private let compressor = Compressor(level: PageChangeFormat.compressionLevel)
    /// The chunk's pages (images or changes), its header and entries, and its payload.
    private let raw: UnsafeMutableRawPointer
    private let head: UnsafeMutableRawPointer
    private let packed: UnsafeMutableRawPointer
    private let packedCapacity: Int
    /// Where the caller may read the next page before adding it.
    package let incoming: UnsafeMutableRawPointer
    private var count = 0
    private var recordOffset: UInt64 = 0
    /// Pages stored whole and as changes since the encoder was made.
    package private(set) var wholePages = 0
    package private(set) var changedPages = 0

    package init(pageSize: Int, cacheBytes: Int = PageVersionCache.defaultBytes) {
        self.pageSize = pageSize
        cache = PageVersionCache(pageSize: pageSize, bytes: cacheBytes)
        let rawBytes = PageChangeFormat.pagesPerChunk * pageSize
        packedCapacity = Compressor.bound(rawBytes)
        raw = .allocate(byteCount: rawBytes, alignment: 64)
        head = .allocate(byteCount: PageChangeFormat.chunkHeaderSize + PageChangeFormat.pagesPerChunk * PageChangeFormat.entrySize, alignment: 8)
        packed = .allocate(byteCount: packedCapacity, alignment: 64)
        incoming = .allocate(byteCount: pageSize, alignment: 64)
    }

    deinit {
        raw.deallocate()
        head.deallocate()
        packed.deallocate()
        incoming.deallocate()
    }

    /// Begins the body of the record that starts at `offset` in the log.
    package func begin(recordOffset offset: UInt64) {
        recordOffset = offset
        count = 0
    }

    /// Adds the next page of the transaction (pages in the record's order, each once).
    package func add(pgno: UInt32, page: UnsafeRawPointer, emit: Emit) throws(EngineError) {
        let slot = raw + count * pageSize
        var entry = PageChangeFormat.Entry(pgno: pgno, kind: .whole, base: 0)
        var depth = 0
        if let base = cache.lookup(pgno), base.offset < recordOffset, base.depth < PageChangeFormat.maxChangeDepth,
           PageChangeFormat.xor(page, base.data, into: slot, count: pageSize) * 8 <= pageSize / 2 {
            entry = PageChangeFormat.Entry(pgno: pgno, kind: .change, base: base.offset)
            depth = base.depth + 1
            changedPages += 1
        } else {
            slot.copyMemory(from: page, byteCount: pageSize)
            wholePages += 1
        }
        cache.store(pgno, page, offset: recordOffset, depth: depth)
        PageChangeFormat.putEntry(entry, head, index: count)
        count += 1
        if count == PageChangeFormat.pagesPerChunk { try flush(emit) }
    }

    /// Ends the record's body.
    package func finish(emit: Emit) throws(EngineError) {
        try flush(emit)
    }

    /// The record was not written: versions it put in the cache must not become bases.
    package func abandon() {
        cache.removeAll()
        count = 0
    }

    private func flush(_ emit: Emit) throws(EngineError) {
        guard count > 0 else { return }
        guard let n = compressor.compress(raw, count * pageSize, into: packed, capacity: packedCapacity), n <= Int(UInt32.max) else {
            throw .unrecoverable("zstd could not compress a chunk of \(count) pages; this is a bug in Cairn")
        }
        LE.put32(UInt32(count), head, 0)
        LE.put32(UInt32(n), head, 4)
        try emit(head, PageChangeFormat.chunkHeaderSize + count * PageChangeFormat.entrySize)
        try emit(packed, n)
        count = 0
    }
}
