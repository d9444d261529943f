import Foundation

/// A consistent, read-only view of a live database at one committed transaction, read
/// with positional I/O while other processes keep writing, without blocking them.
///
/// How consistency is obtained without copying through SQLite and without the write lock:
/// 1. A read transaction opens; the WAL index is read just before and just after. When both
///    readings agree, the transaction began at exactly that state (the index's mxFrame only
///    grows within a generation and a restart changes the salts), otherwise it is tried again
///    (and, after a few tries while writers commit back to back, writers are blocked for the
///    moment it takes to begin it).
/// 2. When that state had every frame copied into the database file (nBackfill == mxFrame),
///    the transaction reads the database file alone and no checkpoint may change it (see
///    `WALPin`): the file is the snapshot. Otherwise the transaction holds a read mark: the
///    WAL is not restarted, and checkpoints copy only frames up to the mark, which changes only
///    pages the snapshot reads from the WAL; the WAL is scanned (salts and checksums) up to
///    the snapshot's last commit for the frame of each page.
/// The read transaction stays open until `close()`.
public final class DatabaseSnapshot: @unchecked Sendable {
    public let databasePath: String
    public let pageSize: Int
    public let pageCount: UInt32
    /// The WAL's committed content up to the snapshot (empty for a WAL of another generation
    /// when the database file alone is the snapshot).
    public let scan: WALScan
    /// Where the snapshot is in the WAL: its generation and last commit frame (frame 0: none).
    public let position: WALPosition
    /// Pages to read from the WAL instead of the database file (empty when fully checkpointed).
    public let walPages: [UInt32: UInt32]
    /// How long writers were blocked to take the snapshot (nil: they were not).
    public let writeLockHeld: TimeInterval?
    private let reader: SQLiteConnection
    private let dbFile: RawFile
    private let walFile: RawFile?
    private var closed = false

    public var walPath: String { databasePath + "-wal" }

    /// Takes the snapshot. With `blockWriters` the read transaction begins under the write
    /// lock (held only for that moment), so the snapshot is the newest committed state.
    public init(databasePath: String, blockWriters: Bool = false) throws(CairnError) {
        self.databasePath = databasePath
        let header = try DatabaseHeader.read(databasePath)
        // A read-write connection (that never writes): a read-only one cannot create a missing
        // WAL and would read the database file without taking part in WAL locking.
        reader = try SQLiteConnection(path: databasePath, busyTimeoutMs: 10_000)
        guard try reader.journalMode == "wal" else {
            throw .notWALCapable(path: databasePath, reason: "the database is not in WAL mode; run `cairn init` to register it")
        }
        let begun = try Self.begin(reader, databasePath: databasePath, blockWriters: blockWriters)
        writeLockHeld = begun.heldSeconds
        do throws(CairnError) {
            let point = begun.point
            let scan = try Self.scan(databasePath + "-wal", through: point)
            dbFile = try SharedFiles.reader(databasePath)
            let fileBytes = try dbFile.size()
            self.scan = scan
            walPages = point.fullyBackfilled ? [:] : scan.latestFrame
            pageSize = scan.header?.pageSize ?? header.pageSize
            walFile = walPages.isEmpty ? nil : try RawFile(path: databasePath + "-wal", mode: .read)
            // With committed frames the last commit gives the size; otherwise the file is the
            // whole database (a complete checkpoint truncates it to the exact size, or to a
            // multiple of the application's chunk size: the header says how much is used).
            let headerPages = (try? DatabaseHeader.read(databasePath)).flatMap { $0.pageCountIsValid ? $0.pageCountField : nil }
            pageCount = scan.databasePages ?? headerPages ?? UInt32(fileBytes / UInt64(header.pageSize))
            position = Self.position(scan, point: point)
        } catch {
            try? reader.exec("ROLLBACK")
            reader.close()
            throw error
        }
        dbFile.adviseSequential()
    }

    /// Begins the read transaction and finds the WAL state it began at.
    private static func begin(_ reader: SQLiteConnection, databasePath: String,
                              blockWriters: Bool) throws(CairnError) -> (point: WALIndexState, heldSeconds: TimeInterval?) {
        let index = try WALIndex(databasePath: databasePath)
        if !blockWriters {
            for _ in 0..<50 {
                let before = index.read()
                try beginRead(reader)
                if let before, before == index.read() { return (before, nil) }
                try? reader.exec("ROLLBACK")
                usleep(100)
            }
        }
        let writer = try SQLiteConnection(path: databasePath, busyTimeoutMs: 10_000)
        defer { writer.close() }
        try writer.exec("BEGIN IMMEDIATE")
        let held = Date()
        defer { try? writer.exec("ROLLBACK") }
        try beginRead(reader)
        guard let point = index.read() else {
            try? reader.exec("ROLLBACK")
            throw .walChanged(path: databasePath + "-shm", detail: "the WAL index is not initialised")
        }
        return (point, Date().timeIntervalSince(held))
    }

    private static func beginRead(_ reader: SQLiteConnection) throws(CairnError) {
        try reader.exec("BEGIN")
        do throws(CairnError) { _ = try reader.scalar("SELECT count(*) FROM sqlite_master") } catch {
            try? reader.exec("ROLLBACK")
            throw error
        }
    }

    /// The WAL's commits up to the snapshot's last frame, which must be there as the index says.
    private static func scan(_ walPath: String, through point: WALIndexState) throws(CairnError) -> WALScan {
        let scan = try WALFile.scan(path: walPath, through: point.mxFrame)
        if point.mxFrame == 0 {
            return scan
        }
        guard let h = scan.header, h.salt1 == point.salt1, h.salt2 == point.salt2, scan.lastCommitFrame == point.mxFrame else {
            // Only possible for a snapshot that reads the database file alone, whose WAL was
            // restarted meanwhile: its frames are all in the file; nothing is read from the WAL.
            if point.fullyBackfilled { return WALScan(header: nil, lastCommitFrame: 0, commits: [], latestFrame: [:]) }
            throw CairnError.walChanged(path: walPath,
                detail: "the WAL index records frame \(point.mxFrame) but the log holds \(scan.lastCommitFrame) valid committed frames")
        }
        return scan
    }

    private static func position(_ scan: WALScan, point: WALIndexState) -> WALPosition {
        if let h = scan.header, let c = scan.commits.last {
            return WALPosition(salt1: h.salt1, salt2: h.salt2, frame: c.frame, checksum1: c.checksum1, checksum2: c.checksum2)
        }
        if let h = scan.header {
            return WALPosition(salt1: h.salt1, salt2: h.salt2, frame: 0, checksum1: h.checksum.0, checksum2: h.checksum.1)
        }
        return WALPosition(salt1: point.salt1, salt2: point.salt2, frame: point.mxFrame, checksum1: 0, checksum2: 0)
    }

    deinit { close() }

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
