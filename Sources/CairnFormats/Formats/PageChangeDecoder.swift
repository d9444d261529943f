/// Reads the body of compact transaction records (see `PageChangeFormat`) back into whole
/// page images: changes are applied to the page's previous version, taken from the cache of
/// recent versions or, when it has left it, rebuilt by `fetch` from the record that holds it.
package final class PageChangeDecoder {
    /// Rebuilds the version of a page held by the record at an offset of the same log.
    package typealias Fetch = (_ pgno: UInt32, _ recordOffset: UInt64, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void
    package typealias Page = (_ pgno: UInt32, _ data: UnsafeRawPointer) throws(EngineError) -> Void

    package let pageSize: Int
    package let cache: PageVersionCache
    private let decompressor = Decompressor()
    /// The chunk being decoded; a chunk decoded to find one page; a base rebuilt by `fetch`.
    private let raw: UnsafeMutableRawPointer
    private let lookupRaw: UnsafeMutableRawPointer
    private let base: UnsafeMutableRawPointer

    package init(pageSize: Int, cacheBytes: Int = PageVersionCache.defaultBytes) {
        self.pageSize = pageSize
        cache = PageVersionCache(pageSize: pageSize, bytes: cacheBytes)
        raw = .allocate(byteCount: PageChangeFormat.pagesPerChunk * pageSize, alignment: 64)
        lookupRaw = .allocate(byteCount: PageChangeFormat.pagesPerChunk * pageSize, alignment: 64)
        base = .allocate(byteCount: pageSize, alignment: 64)
    }

    deinit {
        raw.deallocate()
        lookupRaw.deallocate()
        base.deallocate()
    }

    /// Decodes the verified body of the record at `recordOffset` of `file`, handing out each
    /// page in order.
    package func decode(body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                        fetch: Fetch, page: Page) throws(EngineError) {
        var at = 0
        var seen = 0
        while seen < pages {
            let chunk = try self.chunk(body, count: count, at: at, remaining: pages - seen, recordOffset: recordOffset, file: file)
            try unpack(chunk, body: body, into: raw, recordOffset: recordOffset, file: file)
            for i in 0..<chunk.pages {
                let e = try entry(body + at, i, recordOffset: recordOffset, file: file)
                let slot = raw + i * pageSize
                if e.kind == .change {
                    if let v = cache.lookup(e.pgno), v.offset == e.base {
                        PageChangeFormat.apply(v.data, to: slot, count: pageSize)
                    } else {
                        try fetch(e.pgno, e.base, base)
                        PageChangeFormat.apply(base, to: slot, count: pageSize)
                    }
                }
                cache.store(e.pgno, slot, offset: recordOffset, depth: 0)
                try page(e.pgno, slot)
            }
            at = chunk.end
            seen += chunk.pages
        }
        guard at == count else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record has \(count - at) bytes after its last page")
        }
    }

    /// Finds `pgno` in a verified body and copies what is stored for it (an image, or a change)
    /// to `out`; returns its entry, or nil when the record does not hold the page.
    package func stored(pgno: UInt32, body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                        into out: UnsafeMutableRawPointer) throws(EngineError) -> PageChangeFormat.Entry? {
        var at = 0
        var seen = 0
        while seen < pages {
            let chunk = try self.chunk(body, count: count, at: at, remaining: pages - seen, recordOffset: recordOffset, file: file)
            for i in 0..<chunk.pages {
                let e = try entry(body + at, i, recordOffset: recordOffset, file: file)
                guard e.pgno == pgno else { continue }
                try unpack(chunk, body: body, into: lookupRaw, recordOffset: recordOffset, file: file)
                out.copyMemory(from: lookupRaw + i * pageSize, byteCount: pageSize)
                return e
            }
            at = chunk.end
            seen += chunk.pages
        }
        return nil
    }

    private struct Chunk {
        let pages: Int
        let payload: Int
        let payloadBytes: Int
        var end: Int { payload + payloadBytes }
    }

    private func chunk(_ body: UnsafeRawPointer, count: Int, at: Int, remaining: Int, recordOffset: UInt64, file: String) throws(EngineError) -> Chunk {
        guard at + PageChangeFormat.chunkHeaderSize <= count else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record ends before its last page")
        }
        let n = Int(LE.get32(body, at)), c = Int(LE.get32(body, at + 4))
        let payload = at + PageChangeFormat.chunkHeaderSize + n * PageChangeFormat.entrySize
        guard n >= 1, n <= PageChangeFormat.pagesPerChunk, n <= remaining, payload + c <= count else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record has a malformed chunk at body byte \(at)")
        }
        return Chunk(pages: n, payload: payload, payloadBytes: c)
    }

    private func unpack(_ c: Chunk, body: UnsafeRawPointer, into out: UnsafeMutableRawPointer, recordOffset: UInt64, file: String) throws(EngineError) {
        guard decompressor.decompress(body + c.payload, c.payloadBytes, into: out, expected: c.pages * pageSize) else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record's pages do not decompress")
        }
    }

    private func entry(_ chunk: UnsafeRawPointer, _ i: Int, recordOffset: UInt64, file: String) throws(EngineError) -> PageChangeFormat.Entry {
        guard let e = PageChangeFormat.entry(chunk, index: i), e.kind == .whole || e.base < recordOffset else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record has a malformed page entry")
        }
        return e
    }
}
