import Foundation
import CairnFormats
import CairnCatalog

/// Reads a redo log file record by record, verifying the header, every record's checksum
/// and (for a closed log) the trailer. An online log may end in a torn record after a crash:
/// reading stops at the last complete record.
package final class RedoLogReader {
    package let path: String
    package let header: RedoLogFormat.Header
    private let file: RawFile
    private var size: UInt64
    /// Offset just past the last complete record read so far.
    package private(set) var end: UInt64
    package private(set) var trailer: RedoLogFormat.Trailer?
    package private(set) var records = 0
    /// The checksum of the last record read (what the log's content hash chains).
    package private(set) var lastRecordChecksum: UInt64 = 0
    private let contentHash = StreamingHash()
    /// Rebuilds compact records' pages (made at the first one).
    private var decoder: PageChangeDecoder?
    /// Allocated last in `init`: when an initializer throws before every stored property is set,
    /// `deinit` does not run, so a buffer allocated earlier (say, as a default value) would leak.
    private(set) var scratch: UnsafeMutableRawPointer
    private var scratchSize = 1 << 20
    /// Bytes read ahead of the records (one `pread` for many small records).
    private let ahead = ReadAheadWindow()

    /// What the cache of recent page versions (for compact records) may hold.
    private let changeCacheBytes: Int
    /// An encrypted log's cipher (made when a body is first opened, with the key from
    /// `registry`), and the buffer transaction bodies are opened into.
    let registry: KeyringRegistry
    var cipher: RedoLogCipher?
    var plain: UnsafeMutableRawPointer?
    var plainSize = 0

    package init(path: String, changeCacheBytes: Int = PageVersionCache.defaultBytes, registry: KeyringRegistry = .shared) throws(EngineError) {
        self.path = path
        self.changeCacheBytes = changeCacheBytes
        self.registry = registry
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "redo log") }
        file = try RawFile(path: path, mode: .read)
        size = try file.size()
        let h = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.maxHeaderSize, alignment: 8)
        defer { h.deallocate() }
        guard size >= UInt64(RedoLogFormat.headerSize) else {
            throw .truncated(file: path, expected: UInt64(RedoLogFormat.headerSize), actual: size)
        }
        let got = try file.read(into: h, count: RedoLogFormat.maxHeaderSize, at: 0)
        header = try RedoLogFormat.decodeHeader(h, available: got, file: path)
        // Nothing below throws (see `scratch`).
        scratch = .allocate(byteCount: scratchSize, alignment: 4096)
        contentHash.update(h, header.size)
        end = UInt64(header.size)
        file.adviseSequential()
    }

    deinit {
        scratch.deallocate()
        plain?.deallocate()
    }

    /// Sees records appended since the file was opened (an online log being written).
    package func refreshSize() {
        if let n = try? file.size() { size = n }
        ahead.drop()
    }

    /// Reads up to `count` bytes at `offset` (fewer at the end of the file), through the
    /// read-ahead window when they are few.
    private func read(into out: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) -> Int {
        try ahead.read(file, into: out, count: count, at: offset)
    }

    private func readExactly(into out: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) {
        let n = try read(into: out, count: count, at: offset)
        guard n == count else { throw .truncated(file: path, expected: offset + UInt64(count), actual: offset + UInt64(n)) }
    }

    /// Whether the file still starts with the header this reader read (an online log's group
    /// is truncated and rewritten in place when it is reused).
    package func headerUnchanged() -> Bool {
        let h = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.maxHeaderSize, alignment: 8)
        defer { h.deallocate() }
        guard let got = try? file.read(into: h, count: RedoLogFormat.maxHeaderSize, at: 0),
              let now = try? RedoLogFormat.decodeHeader(h, available: got, file: path) else { return false }
        return now.sequence == header.sequence && now.incarnation == header.incarnation && now.createdMicros == header.createdMicros
    }

    package struct Page {
        package let pgno: UInt32
        package let data: UnsafeRawPointer
        /// The page hash, when the record carries it (compact records; checked).
        package var hash: UInt64? = nil

        /// The page hash: the recorded one, or computed.
        package func pageHash(pageSize: Int) -> UInt64 { hash ?? Hash.page(data, size: pageSize, pgno: pgno) }
    }

    /// Where the previous version of a page stored as a change comes from (see
    /// `PageChangeFormat`): the log alone, or the database being rebuilt, which must then hold
    /// the state just before each record whose pages are read (`read` gives a page's current
    /// version, zeros past the end of the file).
    package enum PageBase {
        case log
        case target(read: PageChangeDecoder.Read)
        /// A target that may hold versions ahead or behind (see `PageChangeDecoder.Base`).
        case lenientTarget(read: PageChangeDecoder.Read, skipped: (UInt32, UInt64) throws(EngineError) -> Void)
    }

    private func ensureScratch(_ n: Int) {
        if n > scratchSize {
            scratch.deallocate()
            scratchSize = n
            scratch = .allocate(byteCount: n, alignment: 4096)
        }
    }

    /// Reads the next record, verified. `pages` (when given) receives each page of a
    /// transaction, whole, for the records `wanted` accepts (all by default), rebuilt from
    /// `base`. Returns nil at the end: the trailer of a closed log, or the end of the complete
    /// records of an open one. `strict` makes a torn or damaged tail an error (archived logs
    /// must end with their trailer).
    /// `only`: just the pages it accepts are rebuilt and handed out.
    package func next(strict: Bool, base: PageBase = .log, wanted: ((RedoRecord) -> Bool)? = nil, only: ((UInt32) -> Bool)? = nil,
                      pages: ((RedoRecord, Page) throws(EngineError) -> Void)? = nil) throws(EngineError) -> RedoRecord? {
        try nextRecord(strict: strict) { (r: RedoRecord, start: UInt64, hdr: UnsafeRawPointer, stored: Int) throws(EngineError) in
            guard let pages, r.kind == .transaction, wanted?(r) ?? true else { return }
            if r.compact {
                let (body, count) = try opened(r, at: start, header: hdr, stored: stored)
                try pagesOfChanges(r, at: start, body: body, count: count, base: base, only: only, pages: pages)
            } else {
                let pageSize = Int(header.pageSize)
                let numbers = RedoRecord.pageNumbersSize(Int(r.pageCount))
                for i in 0..<Int(r.pageCount) where only?(LE.get32(scratch, i * 4)) ?? true {
                    try pages(r, Page(pgno: LE.get32(scratch, i * 4), data: UnsafeRawPointer(scratch + numbers + i * pageSize)))
                }
            }
        }
    }

    /// Reads the next record, verified, handing out the number and page hash of each page of a
    /// transaction (what capture needs to bring a page map up to the log's end).
    package func next(strict: Bool, hashes: (RedoRecord, UInt32, UInt64) throws(EngineError) -> Void) throws(EngineError) -> RedoRecord? {
        try next(strict: strict, entries: { (r: RedoRecord, _: UInt64, e: PageChangeFormat.Entry) throws(EngineError) in
            try hashes(r, e.pgno, e.hash)
        })
    }

    /// Reads the next record, verified, handing out each page's entry without decompressing
    /// anything (with the record's offset): what an index of page versions needs. A whole-image
    /// record's pages are entries of kind `whole` (hash computed).
    package func next(strict: Bool, entries: (RedoRecord, UInt64, PageChangeFormat.Entry) throws(EngineError) -> Void) throws(EngineError) -> RedoRecord? {
        try nextRecord(strict: strict) { (r: RedoRecord, start: UInt64, hdr: UnsafeRawPointer, stored: Int) throws(EngineError) in
            guard r.kind == .transaction else { return }
            if r.compact {
                let (body, count) = try opened(r, at: start, header: hdr, stored: stored)
                try changeDecoder().entries(body: body, count: count, pages: Int(r.pageCount), recordOffset: start, file: path) { (e: PageChangeFormat.Entry) throws(EngineError) in
                    try entries(r, start, e)
                }
            } else {
                let pageSize = Int(header.pageSize)
                let numbers = RedoRecord.pageNumbersSize(Int(r.pageCount))
                for i in 0..<Int(r.pageCount) {
                    let pgno = LE.get32(scratch, i * 4)
                    let hash = Hash.page(scratch + numbers + i * pageSize, size: pageSize, pgno: pgno)
                    try entries(r, start, PageChangeFormat.Entry(pgno: pgno, kind: .whole, base: 0, hash: hash))
                }
            }
        }
    }

    /// Reads and verifies the next record; `body` then sees it (its offset, header and stored
    /// body length; the stored body is in `scratch`).
    private func nextRecord(strict: Bool, body: (RedoRecord, UInt64, UnsafeRawPointer, Int) throws(EngineError) -> Void) throws(EngineError) -> RedoRecord? {
        guard trailer == nil else { return nil }
        let want = max(RedoLogFormat.maxRecordHeaderSize, RedoLogFormat.trailerSize)
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: want, alignment: 8)
        defer { hdr.deallocate() }
        let got = try read(into: hdr, count: want, at: end)
        if got >= RedoLogFormat.trailerSize, LE.get32(hdr, 0) == RedoLogFormat.endMagic {
            try readTrailer(hdr)
            return nil
        }
        func tornTail(_ why: String) throws(EngineError) -> RedoRecord? {
            ahead.drop()
            if strict {
                if end >= size { throw .truncated(file: path, expected: end + UInt64(RedoLogFormat.trailerSize), actual: size) }
                throw .corrupt(file: path, offset: end, detail: why)
            }
            return nil
        }
        guard got >= RedoLogFormat.recordHeaderSize, let r = RedoRecord.decodeHeader(hdr), got >= r.headerSize else {
            return try tornTail("no valid record or trailer here")
        }
        let hsize = r.headerSize
        let bodyBytes = r.bodySize(pageSize: Int(header.pageSize))
        guard r.pageCount <= 1 << 26, bodyBytes <= size, end + UInt64(hsize) + bodyBytes <= size else {
            return try tornTail("record runs past the end of the file")
        }
        if header.encryption != nil, r.kind == .transaction, !r.compact {
            throw .corrupt(file: path, offset: end, detail: "a whole-image (TXN1) record in an encrypted log")
        }
        let bodyCount = Int(bodyBytes)
        ensureScratch(max(bodyCount, 8))
        try readExactly(into: scratch, count: bodyCount, at: end + UInt64(hsize))
        guard RedoRecord.checksum(header: hdr, size: hsize, bodyHash: Hash.xxh3(scratch, bodyCount)) == RedoRecord.storedChecksum(header: hdr, size: hsize) else {
            return try tornTail("record checksum mismatch")
        }
        // The trailer's content hash chains the header and every record's checksum.
        contentHash.update(hdr + hsize - 8, 8)
        lastRecordChecksum = RedoRecord.storedChecksum(header: hdr, size: hsize)
        let start = end
        end += UInt64(hsize) + bodyBytes
        records += 1
        try body(r, start, hdr, bodyCount)
        return r
    }

    private func readTrailer(_ hdr: UnsafeRawPointer) throws(EngineError) {
        guard let t = RedoLogFormat.decodeTrailer(hdr) else {
            throw .corrupt(file: path, offset: end, detail: "redo log trailer damaged")
        }
        guard t.contentBytes == end, t.contentHash == contentHash.value, t.records == UInt64(records) else {
            throw .corrupt(file: path, offset: end, detail: "redo log trailer does not match the records before it")
        }
        trailer = t
        if end + UInt64(RedoLogFormat.trailerSize) != size {
            throw .corrupt(file: path, offset: end + UInt64(RedoLogFormat.trailerSize), detail: "unexpected bytes after the trailer")
        }
    }

    /// Hands out the pages of a compact record (its plaintext body, verified, in `body`).
    private func pagesOfChanges(_ r: RedoRecord, at offset: UInt64, body: UnsafeRawPointer, count: Int, base: PageBase,
                                only: ((UInt32) -> Bool)? = nil, pages: (RedoRecord, Page) throws(EngineError) -> Void) throws(EngineError) {
        let d = changeDecoder()
        let from: PageChangeDecoder.Base
        switch base {
        case .log:
            from = .log({ (pgno: UInt32, at: UInt64, out: UnsafeMutableRawPointer) throws(EngineError) in
                try self.rebuild(pgno: pgno, recordAt: at, into: out, depth: 1)
            })
        case .target(let read):
            from = .target(read)
        case .lenientTarget(let read, let skipped):
            from = .lenientTarget(read, skipped: skipped)
        }
        try d.decode(body: body, count: count, pages: Int(r.pageCount), recordOffset: offset, file: path, base: from, only: only,
                     page: { (pgno: UInt32, data: UnsafeRawPointer, hash: UInt64) throws(EngineError) in
                         try pages(r, Page(pgno: pgno, data: data, hash: hash))
                     })
    }

    private func changeDecoder() -> PageChangeDecoder {
        if let decoder { return decoder }
        let d = PageChangeDecoder(pageSize: Int(header.pageSize), cacheBytes: changeCacheBytes)
        decoder = d
        return d
    }

    /// Rebuilds the version of `pgno` held by the compact record at `offset` (a base that has
    /// left the decoder's cache), reading back through the changes before it.
    func rebuild(pgno: UInt32, recordAt offset: UInt64, into out: UnsafeMutableRawPointer, depth: Int,
                 state: PageChangeDecoder.Fetch? = nil, known: KnownVersion? = nil) throws(EngineError) {
        func bad(_ why: String) -> EngineError { .corrupt(file: path, offset: offset, detail: "the previous version of page \(pgno) \(why)") }
        guard depth <= PageChangeFormat.maxChangeDepth + 1, offset >= UInt64(header.size) else { throw bad("is not where a change says") }
        let whole = { (r: RedoRecord) throws(EngineError) in try self.wholeImage(pgno: pgno, record: r, at: offset, into: out, bad: bad) }
        let found = try withCompactRecord(at: offset, bad: bad, whole: whole) { (r: RedoRecord, clear: UnsafeRawPointer, clearCount: Int) throws(EngineError) -> PageChangeFormat.Entry? in
            try changeDecoder().stored(pgno: pgno, body: clear, count: clearCount, pages: Int(r.pageCount), recordOffset: offset, file: path, into: out)
        }
        guard let found else { return }
        guard let e = found else { throw bad("is not in the record a change names") }
        let pageSize = Int(header.pageSize)
        switch e.kind {
        case .whole: break
        case .changeFromState:
            guard let state else { throw PageChangeDecoder.needsState(pgno, recordOffset: offset, file: path) }
            let base = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 64)
            defer { base.deallocate() }
            try state(pgno, offset, base)
            PageChangeFormat.apply(base, to: out, count: pageSize)
        case .change:
            let base = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 64)
            defer { base.deallocate() }
            if try known?(pgno, e.base, base) != true {
                try rebuild(pgno: pgno, recordAt: e.base, into: base, depth: depth + 1, state: state, known: known)
            }
            PageChangeFormat.apply(base, to: out, count: pageSize)
        }
        guard Hash.page(out, size: pageSize, pgno: pgno) == e.hash else { throw bad("does not rebuild to the version its record names") }
    }

    /// Reads and verifies the transaction record at `offset` and hands its plaintext body to
    /// `compact`; a whole-image (version 1) record goes to `whole` instead, and nil is returned.
    private func withCompactRecord<T>(at offset: UInt64, bad: (String) -> EngineError, whole: (RedoRecord) throws(EngineError) -> Void,
                                      _ compact: (RedoRecord, UnsafeRawPointer, Int) throws(EngineError) -> T) throws(EngineError) -> T? {
        let hsize = RedoLogFormat.compactRecordHeaderSize
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.maxRecordHeaderSize, alignment: 8)
        defer { hdr.deallocate() }
        try file.readExactly(into: hdr, count: min(RedoLogFormat.maxRecordHeaderSize, Int(size - min(size, offset))), at: offset)
        guard let r = RedoRecord.decodeHeader(hdr), r.kind == .transaction else { throw bad("is not in a record") }
        if !r.compact {
            try whole(r)
            return nil
        }
        guard offset + UInt64(hsize) + r.bodyBytes <= size else { throw bad("is not in a record") }
        let count = Int(r.bodyBytes)
        let body = UnsafeMutableRawPointer.allocate(byteCount: max(count, 8), alignment: 8)
        defer { body.deallocate() }
        try file.readExactly(into: body, count: count, at: offset + UInt64(hsize))
        guard RedoRecord.checksum(header: hdr, size: hsize, bodyHash: Hash.xxh3(body, count)) == RedoRecord.storedChecksum(header: hdr, size: hsize) else {
            throw bad("is in a damaged record")
        }
        let (clear, clearCount) = try openedCopy(body, count: count, at: offset, header: hdr)
        defer { if clear != body { clear.deallocate() } }
        return try compact(r, clear, clearCount)
    }

    /// What the transaction record at `offset` stores for each page `only` accepts (its entry,
    /// and its image or its change against the page's previous version), read once and
    /// verified; false when the record is a whole-image (version 1) one, which has no entries.
    package func stored(recordAt offset: UInt64, only: (UInt32) -> Bool,
                        each: (PageChangeFormat.Entry, UnsafeRawPointer) throws(EngineError) -> Void) throws(EngineError) -> Bool {
        let bad = { (why: String) -> EngineError in .corrupt(file: self.path, offset: offset, detail: "the record of a change \(why)") }
        let done = try withCompactRecord(at: offset, bad: bad, whole: { (_: RedoRecord) throws(EngineError) in },
                                         { (r: RedoRecord, clear: UnsafeRawPointer, count: Int) throws(EngineError) in
            try changeDecoder().stored(body: clear, count: count, pages: Int(r.pageCount), recordOffset: offset, file: path, only: only) { (e: PageChangeFormat.Entry, data: UnsafeRawPointer) throws(EngineError) -> Bool in
                try each(e, data)
                return true
            }
        })
        return done != nil
    }

    /// The version of `pgno` the transaction record at `offset` holds, whole in `out`: rebuilt
    /// through the changes of this log before it, and, for a change from the database state,
    /// from `state` (the page's version just before the record at the offset it is given).
    /// Checked against the recorded hash.
    /// `known`, asked before a change's base record is read, may give that version itself
    /// (returning true), say from a backup taken after it.
    package func version(of pgno: UInt32, recordAt offset: UInt64, into out: UnsafeMutableRawPointer,
                         state: PageChangeDecoder.Fetch? = nil, known: KnownVersion? = nil) throws(EngineError) {
        try rebuild(pgno: pgno, recordAt: offset, into: out, depth: 1, state: state, known: known)
    }

    /// Gives the version of a page held by the record at an offset when it is known elsewhere.
    package typealias KnownVersion = (_ pgno: UInt32, _ recordOffset: UInt64, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Bool

    /// Copies `pgno` out of the whole-image (version 1) record `r` at `offset`, verified.
    private func wholeImage(pgno: UInt32, record r: RedoRecord, at offset: UInt64, into out: UnsafeMutableRawPointer,
                            bad: (String) -> EngineError) throws(EngineError) {
        let pageSize = Int(header.pageSize), count = Int(r.pageCount)
        let bodyBytes = r.bodySize(pageSize: pageSize)
        guard count <= 1 << 26, offset + UInt64(r.headerSize) + bodyBytes <= size else { throw bad("is not in a record") }
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: r.headerSize, alignment: 8)
        defer { hdr.deallocate() }
        try file.readExactly(into: hdr, count: r.headerSize, at: offset)
        let body = UnsafeMutableRawPointer.allocate(byteCount: max(Int(bodyBytes), 8), alignment: 64)
        defer { body.deallocate() }
        try file.readExactly(into: body, count: Int(bodyBytes), at: offset + UInt64(r.headerSize))
        guard RedoRecord.checksum(header: hdr, size: r.headerSize, bodyHash: Hash.xxh3(body, Int(bodyBytes))) == RedoRecord.storedChecksum(header: hdr, size: r.headerSize) else {
            throw bad("is in a damaged record")
        }
        guard let i = (0..<count).first(where: { LE.get32(body, $0 * 4) == pgno }) else { throw bad("is not in the record") }
        out.copyMemory(from: body + RedoRecord.pageNumbersSize(count) + i * pageSize, byteCount: pageSize)
    }

    /// Reads every record to the end and returns the last one (nil when empty).
    package func readAll(strict: Bool) throws(EngineError) -> (last: RedoRecord?, count: Int) {
        var last: RedoRecord?
        while let r = try next(strict: strict) { last = r }
        return (last, records)
    }
}
