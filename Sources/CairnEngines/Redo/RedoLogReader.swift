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
    private let contentHash = StreamingHash()
    /// Allocated last in `init`: when an initializer throws before every stored property is set,
    /// `deinit` does not run, so a buffer allocated earlier (say, as a default value) would leak.
    private var scratch: UnsafeMutableRawPointer
    private var scratchSize = 1 << 20

    package init(path: String) throws(EngineError) {
        self.path = path
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "redo log") }
        file = try RawFile(path: path, mode: .read)
        size = try file.size()
        let h = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.headerSize, alignment: 8)
        defer { h.deallocate() }
        guard size >= UInt64(RedoLogFormat.headerSize) else {
            throw .truncated(file: path, expected: UInt64(RedoLogFormat.headerSize), actual: size)
        }
        try file.readExactly(into: h, count: RedoLogFormat.headerSize, at: 0)
        header = try RedoLogFormat.decodeHeader(h, file: path)
        // Nothing below throws (see `scratch`).
        scratch = .allocate(byteCount: scratchSize, alignment: 4096)
        contentHash.update(h, RedoLogFormat.headerSize)
        end = UInt64(RedoLogFormat.headerSize)
        file.adviseSequential()
    }

    deinit { scratch.deallocate() }

    /// Sees records appended since the file was opened (an online log being written).
    package func refreshSize() {
        if let n = try? file.size() { size = n }
    }

    /// Whether the file still starts with the header this reader read (an online log's group
    /// is truncated and rewritten in place when it is reused).
    package func headerUnchanged() -> Bool {
        let h = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.headerSize, alignment: 8)
        defer { h.deallocate() }
        guard (try? file.readExactly(into: h, count: RedoLogFormat.headerSize, at: 0)) != nil,
              let now = try? RedoLogFormat.decodeHeader(h, file: path) else { return false }
        return now.sequence == header.sequence && now.incarnation == header.incarnation && now.createdMicros == header.createdMicros
    }

    package struct Page {
        package let pgno: UInt32
        package let data: UnsafeRawPointer
    }

    private func ensureScratch(_ n: Int) {
        if n > scratchSize {
            scratch.deallocate()
            scratchSize = n
            scratch = .allocate(byteCount: n, alignment: 4096)
        }
    }

    /// Reads the next record, verified. `pages` (when given) receives each page of a
    /// transaction. Returns nil at the end: the trailer of a closed log, or the end of the
    /// complete records of an open one. `strict` makes a torn or damaged tail an error
    /// (archived logs must end with their trailer).
    package func next(strict: Bool, pages: ((RedoRecord, Page) throws(EngineError) -> Void)? = nil) throws(EngineError) -> RedoRecord? {
        let hsize = RedoLogFormat.recordHeaderSize
        guard trailer == nil else { return nil }
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: max(hsize, RedoLogFormat.trailerSize), alignment: 8)
        defer { hdr.deallocate() }
        let got = try file.read(into: hdr, count: max(hsize, RedoLogFormat.trailerSize), at: end)
        if got >= RedoLogFormat.trailerSize, LE.get32(hdr, 0) == RedoLogFormat.endMagic {
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
            return nil
        }
        func tornTail(_ why: String) throws(EngineError) -> RedoRecord? {
            if strict {
                if end >= size { throw .truncated(file: path, expected: end + UInt64(RedoLogFormat.trailerSize), actual: size) }
                throw .corrupt(file: path, offset: end, detail: why)
            }
            return nil
        }
        guard got >= hsize, let r = RedoRecord.decodeHeader(hdr) else { return try tornTail("no valid record or trailer here") }
        let pageSize = Int(header.pageSize)
        let bodyCount = r.kind == .gap ? 0 : RedoRecord.bodySize(pages: Int(r.pageCount), pageSize: pageSize)
        guard r.pageCount <= 1 << 26, end + UInt64(hsize + bodyCount) <= size else { return try tornTail("record runs past the end of the file") }
        ensureScratch(max(bodyCount, 8))
        try file.readExactly(into: scratch, count: bodyCount, at: end + UInt64(hsize))
        let bodyHash = Hash.xxh3(scratch, bodyCount)
        guard RedoRecord.checksum(header: hdr, bodyHash: bodyHash) == LE.get64(hdr, 64) else {
            return try tornTail("record checksum mismatch")
        }
        // The trailer's content hash chains the header and every record's checksum.
        contentHash.update(hdr + 64, 8)
        end += UInt64(hsize + bodyCount)
        records += 1
        if let pages, r.kind == .transaction {
            let numbers = RedoRecord.pageNumbersSize(Int(r.pageCount))
            for i in 0..<Int(r.pageCount) {
                try pages(r, Page(pgno: LE.get32(scratch, i * 4), data: UnsafeRawPointer(scratch + numbers + i * pageSize)))
            }
        }
        return r
    }

    /// Reads every record to the end and returns the last one (nil when empty).
    package func readAll(strict: Bool) throws(EngineError) -> (last: RedoRecord?, count: Int) {
        var last: RedoRecord?
        while let r = try next(strict: strict) { last = r }
        return (last, records)
    }
}
