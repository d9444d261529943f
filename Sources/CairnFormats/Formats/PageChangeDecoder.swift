/// Reads the body of compact transaction records (see `PageChangeFormat`) back into whole
/// page images, checking each against the hash its entry records. Where a change's previous
/// version comes from is the reader's choice (`Base`).
package final class PageChangeDecoder {
    /// Rebuilds the version of a page held by the record at an offset of the same log.
    package typealias Fetch = (_ pgno: UInt32, _ recordOffset: UInt64, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void
    /// Reads a page's current version in the database being rebuilt (zeros past its end).
    package typealias Read = (_ pgno: UInt32, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void
    /// A page rebuilt, with its page hash (checked).
    package typealias Page = (_ pgno: UInt32, _ data: UnsafeRawPointer, _ hash: UInt64) throws(EngineError) -> Void

    /// Where the previous version of a changed page comes from.
    package enum Base {
        /// From the log alone: the versions read before (a cache), or `fetch` for one that left
        /// it. A change from the database state cannot be rebuilt this way.
        case log(Fetch)
        /// From the database being rebuilt, which holds the state just before the record
        /// (recovery applying records in order).
        case target(Read)
        /// From a database that may hold some versions ahead or behind (a copy taken while the
        /// database was written): a page that already is the record's version is handed out as
        /// it is; one that does not rebuild goes to `skipped` (its number and hash) instead.
        case lenientTarget(Read, skipped: (_ pgno: UInt32, _ hash: UInt64) throws(EngineError) -> Void)
    }

    package let pageSize: Int
    private let cacheBytes: Int
    private var versions: PageVersionCache?
    private let decompressor = Decompressor()
    /// The chunk being decoded; a chunk decoded to find one page; a previous version.
    private let raw: UnsafeMutableRawPointer
    private let lookupRaw: UnsafeMutableRawPointer
    private let previous: UnsafeMutableRawPointer

    package init(pageSize: Int, cacheBytes: Int = PageVersionCache.defaultBytes) {
        self.pageSize = pageSize
        self.cacheBytes = cacheBytes
        raw = .allocate(byteCount: PageChangeFormat.pagesPerChunk * pageSize, alignment: 64)
        lookupRaw = .allocate(byteCount: PageChangeFormat.pagesPerChunk * pageSize, alignment: 64)
        previous = .allocate(byteCount: pageSize, alignment: 64)
    }

    deinit {
        raw.deallocate()
        lookupRaw.deallocate()
        previous.deallocate()
    }

    /// The versions handed out so far (made when first needed).
    private var cache: PageVersionCache {
        if let versions { return versions }
        let c = PageVersionCache(pageSize: pageSize, bytes: cacheBytes)
        versions = c
        return c
    }

    /// Decodes the verified body of the record at `recordOffset` of `file`, handing out each
    /// page in order; with `only`, just the pages it accepts (a chunk holding none of them is
    /// not even decompressed).
    package func decode(body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                        base: Base, only: ((UInt32) -> Bool)? = nil, page: Page) throws(EngineError) {
        let end = try walk(body, count: count, pages: pages, recordOffset: recordOffset, file: file) { (chunk: Chunk, e: (Int) throws(EngineError) -> PageChangeFormat.Entry) throws(EngineError) -> Bool in
            if let only {
                var wanted = false
                for i in 0..<chunk.pages where !wanted { wanted = only(try e(i).pgno) }
                if !wanted { return true }
            }
            try unpack(chunk, body: body, into: raw, recordOffset: recordOffset, file: file)
            for i in 0..<chunk.pages {
                let entry = try e(i)
                if let only, !only(entry.pgno) { continue }
                let slot = raw + i * pageSize
                guard try rebuild(entry, slot, recordOffset: recordOffset, file: file, base: base) else { continue }
                try page(entry.pgno, slot, entry.hash)
            }
            return true
        }
        guard end == count else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record has \(count - end) bytes after its last page")
        }
    }

    /// Turns what is stored for one page (in `slot`) into its image, and checks it; false when
    /// a lenient target could not give its previous version (the page was skipped).
    private func rebuild(_ e: PageChangeFormat.Entry, _ slot: UnsafeMutableRawPointer, recordOffset: UInt64, file: String, base: Base) throws(EngineError) -> Bool {
        switch (e.kind, base) {
        case (.whole, _):
            break
        case (_, .target(let read)):
            // The version this decoder last handed out is what the target holds now (the
            // caller writes every page it is given), read without a system call; if it is not
            // (the database shrank and grew again meanwhile), the target itself is read.
            if let v = cache.lookup(e.pgno) {
                PageChangeFormat.apply(v.data, to: slot, count: pageSize)
                if Hash.page(slot, size: pageSize, pgno: e.pgno) == e.hash {
                    cache.store(e.pgno, slot, offset: recordOffset, depth: 0)
                    return true
                }
                PageChangeFormat.apply(v.data, to: slot, count: pageSize)
            }
            try read(e.pgno, previous)
            PageChangeFormat.apply(previous, to: slot, count: pageSize)
        case (_, .lenientTarget(let read, let skipped)):
            try read(e.pgno, previous)
            if Hash.page(previous, size: pageSize, pgno: e.pgno) == e.hash {
                slot.copyMemory(from: previous, byteCount: pageSize)
                return true
            }
            PageChangeFormat.apply(previous, to: slot, count: pageSize)
            if Hash.page(slot, size: pageSize, pgno: e.pgno) != e.hash {
                try skipped(e.pgno, e.hash)
                return false
            }
        case (.change, .log(let fetch)):
            if let v = cache.lookup(e.pgno), v.offset == e.base {
                PageChangeFormat.apply(v.data, to: slot, count: pageSize)
            } else {
                try fetch(e.pgno, e.base, previous)
                PageChangeFormat.apply(previous, to: slot, count: pageSize)
            }
        case (.changeFromState, .log):
            throw Self.needsState(e.pgno, recordOffset: recordOffset, file: file)
        }
        guard Hash.page(slot, size: pageSize, pgno: e.pgno) == e.hash else {
            let why: String
            if case .target = base { why = " (the database it is applied to is not at the state just before that record)" } else { why = "" }
            throw .verificationFailed(file: file, detail: "page \(e.pgno) of the record at offset \(recordOffset) does not rebuild to the version it records\(why)")
        }
        cache.store(e.pgno, slot, offset: recordOffset, depth: 0)
        return true
    }

    /// The error for a page stored as a change from the database before its log, read without it.
    package static func needsState(_ pgno: UInt32, recordOffset: UInt64, file: String) -> EngineError {
        .unrecoverable("page \(pgno) of the record at offset \(recordOffset) of \(file) is stored as a change from the database as it was before this log; it can be rebuilt only by recovery, which applies the log to that state")
    }

    /// Hands out each page's entry (number, how it is stored, where its base is, hash),
    /// without decompressing anything.
    package func entries(body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                         each: (PageChangeFormat.Entry) throws(EngineError) -> Void) throws(EngineError) {
        _ = try walk(body, count: count, pages: pages, recordOffset: recordOffset, file: file) { (chunk: Chunk, e: (Int) throws(EngineError) -> PageChangeFormat.Entry) throws(EngineError) -> Bool in
            for i in 0..<chunk.pages { try each(try e(i)) }
            return true
        }
    }

    /// Finds `pgno` in a verified body and copies what is stored for it (an image, or a change)
    /// to `out`; returns its entry, or nil when the record does not hold the page.
    package func stored(pgno: UInt32, body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                        into out: UnsafeMutableRawPointer) throws(EngineError) -> PageChangeFormat.Entry? {
        var found: PageChangeFormat.Entry?
        let take = { (entry: PageChangeFormat.Entry, data: UnsafeRawPointer) throws(EngineError) -> Bool in
            out.copyMemory(from: data, byteCount: self.pageSize)
            found = entry
            return false
        }
        try stored(body: body, count: count, pages: pages, recordOffset: recordOffset, file: file, only: { $0 == pgno }, each: take)
        return found
    }

    /// Hands out what a verified body stores (an image, or a change against the previous
    /// version) for each page `only` accepts, with its entry, until `each` returns false; a
    /// chunk holding none of those pages is not decompressed.
    package func stored(body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String, only: (UInt32) -> Bool,
                        each: (PageChangeFormat.Entry, UnsafeRawPointer) throws(EngineError) -> Bool) throws(EngineError) {
        _ = try walk(body, count: count, pages: pages, recordOffset: recordOffset, file: file) { (chunk: Chunk, e: (Int) throws(EngineError) -> PageChangeFormat.Entry) throws(EngineError) -> Bool in
            var unpacked = false
            for i in 0..<chunk.pages {
                let entry = try e(i)
                guard only(entry.pgno) else { continue }
                if !unpacked {
                    try unpack(chunk, body: body, into: lookupRaw, recordOffset: recordOffset, file: file)
                    unpacked = true
                }
                if try !each(entry, lookupRaw + i * pageSize) { return false }
            }
            return true
        }
    }

    /// Visits the chunks of a body in order, each with a reader of its entries, until `visit`
    /// returns false; returns where the last chunk visited ends.
    private func walk(_ body: UnsafeRawPointer, count: Int, pages: Int, recordOffset: UInt64, file: String,
                      _ visit: (Chunk, (Int) throws(EngineError) -> PageChangeFormat.Entry) throws(EngineError) -> Bool) throws(EngineError) -> Int {
        var at = 0
        var seen = 0
        while seen < pages {
            let chunk = try self.chunk(body, count: count, at: at, remaining: pages - seen, recordOffset: recordOffset, file: file)
            let start = body + at
            let more = try visit(chunk) { (i: Int) throws(EngineError) -> PageChangeFormat.Entry in
                try entry(start, i, recordOffset: recordOffset, file: file)
            }
            at = chunk.end
            seen += chunk.pages
            if !more { break }
        }
        return at
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
        var dst = UnsafeMutableRawBufferPointer(start: out, count: c.pages * pageSize).mutableBytes
        guard decompressor.decompress(UnsafeRawBufferPointer(start: body + c.payload, count: c.payloadBytes).bytes, into: &dst) else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record's pages do not decompress")
        }
    }

    private func entry(_ chunk: UnsafeRawPointer, _ i: Int, recordOffset: UInt64, file: String) throws(EngineError) -> PageChangeFormat.Entry {
        guard let e = PageChangeFormat.entry(chunk, index: i), e.pgno >= 1, e.kind != .change || e.base < recordOffset else {
            throw .corrupt(file: file, offset: recordOffset, detail: "compact record has a malformed page entry")
        }
        return e
    }
}
