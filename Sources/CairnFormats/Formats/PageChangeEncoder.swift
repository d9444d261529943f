/// Writes the body of compact transaction records (see `PageChangeFormat`): each page as a
/// change against its previous version when that version is at hand, else whole; chunk by chunk,
/// compressed, handed to `emit` in order. The previous version comes from the cache of the
/// versions this encoder wrote (a `change` when written earlier in the same log, else a
/// `changeFromState`), or from the database (`stateBase`); either only when its hash is the
/// one the caller names as the page's previous version. One per log writer; `beginLog` at
/// each new log.
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
    /// Counts the logs begun; versions cached under an earlier one are bases from the state.
    private var epoch: UInt64 = 0
    /// Pages stored whole, as changes within the log, and as changes from the database state
    /// since the encoder was made.
    package private(set) var wholePages = 0
    package private(set) var changedPages = 0
    package private(set) var changedFromStatePages = 0

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

    /// A new log begins: versions written before are no longer in it.
    package func beginLog() { epoch += 1 }

    /// Begins the body of the record that starts at `offset` in the log.
    package func begin(recordOffset offset: UInt64) {
        recordOffset = offset
        count = 0
    }

    /// Adds the next page of the transaction (pages in the record's order, each once): its
    /// image, its page hash, and the page hash of its previous version (nil: none is known).
    /// `stateBase` gives the previous version as the database holds it, already checked
    /// against that hash (nil when it is not); it is asked only when the cache has none.
    package func add(pgno: UInt32, page: UnsafeRawPointer, hash: UInt64, previous: UInt64?,
                     stateBase: () -> UnsafeRawPointer?, emit: Emit) throws(EngineError) {
        let slot = raw + count * pageSize
        var entry = PageChangeFormat.Entry(pgno: pgno, kind: .whole, base: 0, hash: hash)
        var depth = 0
        let cached = previous.flatMap { p in cache.lookup(pgno).flatMap { $0.hash == p ? $0 : nil } }
        // A change however large: it is the way back as well as the way forward (a flashback
        // walks the records after its target backwards from the live pages; a page stored
        // whole sends it to the backup). Compressed, a change that rewrites most of the page
        // costs about a quarter more than the page would.
        if let base = cached, base.epoch == epoch, base.offset < recordOffset {
            // Written earlier in this log: a change a reader of the log alone can follow,
            // until the chain is long enough that the page is better stored whole.
            if base.depth < PageChangeFormat.maxChangeDepth {
                PageChangeFormat.xor(page, base.data, into: slot, count: pageSize)
                entry.kind = .change
                entry.base = base.offset
                depth = base.depth + 1
            }
        } else if let base = cached?.data ?? (previous == nil ? nil : stateBase()) {
            PageChangeFormat.xor(page, base, into: slot, count: pageSize)
            entry.kind = .changeFromState
        }
        switch entry.kind {
        case .whole:
            slot.copyMemory(from: page, byteCount: pageSize)
            wholePages += 1
        case .change: changedPages += 1
        case .changeFromState: changedFromStatePages += 1
        }
        cache.store(pgno, page, offset: recordOffset, depth: depth, hash: hash, epoch: epoch)
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
        var dst = UnsafeMutableRawBufferPointer(start: packed, count: packedCapacity).mutableBytes
        guard let n = compressor.compress(UnsafeRawBufferPointer(start: raw, count: count * pageSize).bytes, into: &dst), n <= Int(UInt32.max) else {
            throw .unrecoverable("zstd could not compress a chunk of \(count) pages; this is a bug in Cairn")
        }
        LE.put32(UInt32(count), head, 0)
        LE.put32(UInt32(n), head, 4)
        try emit(head, PageChangeFormat.chunkHeaderSize + count * PageChangeFormat.entrySize)
        try emit(packed, n)
        count = 0
    }
}
