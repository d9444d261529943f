import Foundation

/// A consistent, read-only view of a live database at one committed transaction, read
/// with positional I/O while other processes keep writing.
///
/// How consistency is obtained without copying through SQLite:
/// 1. A `BEGIN IMMEDIATE` on one connection blocks writers for a moment.
/// 2. A read transaction opens on a second connection; it sees the latest commit.
/// 3. The WAL is scanned (salts and checksums) to find that commit and, for each page it
///    changed, the frame holding the page's latest version.
/// 4. The write lock is released. The read transaction stays open until `close()`.
///
/// While the reader is open SQLite guarantees: if the WAL index says every committed frame
/// is already in the database file (nBackfill == mxFrame), the reader uses the file alone
/// and no checkpoint may change it; otherwise the reader holds a read mark at mxFrame, so the
/// WAL is not restarted and checkpoints copy only frames up to that mark, which changes only
/// pages we read from the WAL. Either way every page read is the snapshot's.
public final class DatabaseSnapshot: @unchecked Sendable {
    public let databasePath: String
    public let pageSize: Int
    public let pageCount: UInt32
    public let scan: WALScan
    /// Pages to read from the WAL instead of the database file (empty when fully checkpointed).
    public let walPages: [UInt32: UInt32]
    private let reader: SQLiteConnection
    private let dbFile: RawFile
    private let walFile: RawFile?
    private var closed = false

    public var walPath: String { databasePath + "-wal" }

    /// `underLock` runs while writers are blocked and the snapshot's read transaction is open,
    /// with the WAL scan of the snapshot (e.g. to capture up to exactly this point).
    /// `writerLockHeld` means this process already holds the write lock on another connection.
    public init(databasePath: String, writerLockHeld: Bool = false,
                underLock: ((WALScan) throws(CairnError) -> Void)? = nil) throws(CairnError) {
        self.databasePath = databasePath
        _ = try DatabaseHeader.read(databasePath)
        let writer = try SQLiteConnection(path: databasePath)
        defer { writer.close() }
        guard try writer.journalMode == "wal" else {
            throw .notWALCapable(path: databasePath, reason: "the database is not in WAL mode; run `cairn init` to register it")
        }
        reader = try SQLiteConnection(path: databasePath, readOnly: true)
        if !writerLockHeld { try writer.exec("BEGIN IMMEDIATE") }
        var readerOpen = false
        do throws(CairnError) {
            try reader.exec("BEGIN")
            readerOpen = true
            _ = try reader.scalar("SELECT count(*) FROM sqlite_master")
            // Everything below is read while no transaction can commit.
            let scan = try WALFile.scan(path: databasePath + "-wal")
            let index = WALIndexInfo.read(path: databasePath + "-shm")
            if let index, let h = scan.header, index.mxFrame != scan.lastCommitFrame || index.salt1 != h.salt1 || index.salt2 != h.salt2 {
                throw CairnError.walChanged(path: databasePath + "-wal",
                    detail: "the WAL index records frame \(index.mxFrame) but the log holds \(scan.lastCommitFrame) valid committed frames")
            }
            let header = try DatabaseHeader.read(databasePath)
            dbFile = try SharedFiles.reader(databasePath)
            let fileBytes = try dbFile.size()
            try underLock?(scan)
            try? writer.exec("ROLLBACK")
            self.scan = scan
            let fullyCheckpointed = index.map { $0.nBackfill >= scan.lastCommitFrame } ?? (scan.lastCommitFrame == 0)
            walPages = fullyCheckpointed ? [:] : scan.latestFrame
            pageSize = scan.header?.pageSize ?? header.pageSize
            walFile = walPages.isEmpty ? nil : try RawFile(path: databasePath + "-wal", mode: .read)
            // With committed frames the last commit gives the size; otherwise the file is the
            // whole database (a complete checkpoint truncates it to the exact size).
            pageCount = scan.databasePages ?? UInt32(fileBytes / UInt64(header.pageSize))
        } catch {
            try? writer.exec("ROLLBACK")
            if readerOpen { try? reader.exec("ROLLBACK") }
            throw error
        }
        dbFile.adviseSequential()
    }

    deinit { close() }

    /// The WAL position of the snapshot (where capture continues after it).
    public var position: WALPosition {
        guard let h = scan.header else { return WALPosition(salt1: 0, salt2: 0, frame: 0, checksum1: 0, checksum2: 0) }
        if let c = scan.commits.last {
            return WALPosition(salt1: h.salt1, salt2: h.salt2, frame: c.frame, checksum1: c.checksum1, checksum2: c.checksum2)
        }
        return WALPosition(salt1: h.salt1, salt2: h.salt2, frame: 0, checksum1: h.checksum.0, checksum2: h.checksum.1)
    }

    /// Reads every page and returns their hashes.
    public func pageMap() throws(CairnError) -> PageMap {
        let blockPages = max(1, (1 << 20) / pageSize)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: blockPages * pageSize, alignment: 4096)
        defer { buf.deallocate() }
        var hashes = [UInt64]()
        hashes.reserveCapacity(Int(pageCount))
        var next: UInt32 = 1
        while next <= pageCount {
            let n = Int(min(UInt32(blockPages), pageCount - next + 1))
            try readPages(first: next, count: n, into: buf)
            for i in 0..<n { hashes.append(Hash.page(buf + i * pageSize, size: pageSize, pgno: next + UInt32(i))) }
            next += UInt32(n)
        }
        return PageMap(pageSize: pageSize, hashes: hashes)
    }

    /// Ends the read transaction; SQLite may then checkpoint past the snapshot.
    public func close() {
        if closed { return }
        closed = true
        try? reader.exec("ROLLBACK")
        reader.close()
    }

    /// Starts reading the given pages (ascending) from the database file in the background:
    /// scattered pages then arrive with the disk's parallelism instead of one at a time.
    public func prefetch(_ pages: [UInt32]) {
        var i = 0
        while i < pages.count {
            var run = 1
            while i + run < pages.count, pages[i + run] == pages[i] + UInt32(run) { run += 1 }
            if walPages[pages[i]] == nil || run > 1 {
                dbFile.adviseWillNeed(offset: UInt64(pages[i] - 1) * UInt64(pageSize), count: run * pageSize)
            }
            i += run
        }
    }

    /// Reads `count` consecutive pages starting at `first` (1-based) into `buffer`.
    public func readPages(first: UInt32, count: Int, into buffer: UnsafeMutableRawPointer) throws(CairnError) {
        let bytes = count * pageSize
        let got = try dbFile.read(into: buffer, count: bytes, at: UInt64(first - 1) * UInt64(pageSize))
        if got < bytes {
            // Pages past the end of the file exist only in the WAL; zero-fill, then overlay.
            memset(buffer + got, 0, bytes - got)
        }
        guard !walPages.isEmpty, let wal = walFile, let header = scan.header else { return }
        var frameHeader = (UInt64(0), UInt64(0), UInt64(0))
        for i in 0..<count {
            let pgno = first + UInt32(i)
            guard let frame = walPages[pgno] else {
                if UInt64(i) * UInt64(pageSize) >= UInt64(got) {
                    throw .walChanged(path: databasePath, detail: "page \(pgno) is neither in the database file nor in the WAL")
                }
                continue
            }
            let off = WALScan.frameOffset(frame, pageSize: pageSize)
            try withUnsafeMutableBytes(of: &frameHeader) { (h: UnsafeMutableRawBufferPointer) throws(CairnError) in
                try wal.readExactly(into: h.baseAddress!, count: WALFile.frameHeaderSize, at: off)
                guard LE.getBE32(h.baseAddress!, 0) == pgno, LE.getBE32(h.baseAddress!, 8) == header.salt1,
                      LE.getBE32(h.baseAddress!, 12) == header.salt2 else {
                    throw .walChanged(path: walPath, detail: "frame \(frame) no longer holds page \(pgno)")
                }
            }
            try wal.readExactly(into: buffer + i * pageSize, count: pageSize, at: off + UInt64(WALFile.frameHeaderSize))
        }
    }
}
