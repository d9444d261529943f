import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// A consistent, read-only view of a live database at one committed transaction, read
/// with positional I/O while other processes keep writing and checkpointing, without
/// blocking them and without a SQLite read transaction.
///
/// How consistency is obtained:
/// 1. A `WALPin` is set up (reader-slot and read-lock-0 locks in the WAL index, as a SQLite
///    reader takes them, but moved by Cairn): from then on nothing in the database file or the
///    WAL up to the WAL index's last frame can change, and that frame is the snapshot's last
///    commit. A connection to the database stays open (no transaction) so the WAL index is
///    never reset under the pin.
/// 2. When every frame was already copied into the database file, the file is the snapshot;
///    otherwise the WAL is scanned (salts and checksums) up to that commit for the frame of
///    each page.
/// 3. A `SnapshotKeeper` then lets every checkpoint go on, saving the snapshot's version of a
///    page before any checkpoint may overwrite it; reads take saved versions over the file's.
/// The application's checkpoints, of every mode, are held up only for the moment it takes to
/// save the pages committed since the keeper last looked. Everything is let go by `close()`.
///
/// Sendable: what readers use is immutable or shared safely (`SnapshotFiles`,
/// `PreservedPages`, the keeper thread's status), and what `close()` lets go of is taken out
/// under a lock, once.
package final class DatabaseSnapshot: Sendable {
    package let databasePath: String
    package let pageSize: Int
    package let pageCount: UInt32
    /// The WAL's committed content up to the snapshot (empty for a WAL of another generation
    /// when the database file alone is the snapshot).
    package let scan: WALScan
    /// Where the snapshot is in the WAL: its generation and last commit frame (frame 0: none).
    package let position: WALPosition
    /// How long writers were blocked to take the snapshot (nil: they were not).
    package let writeLockHeld: TimeInterval?
    /// Keeps the WAL index open (SQLite resets an index no connection holds); taken by `close()`.
    private let connection: Mutex<SQLiteConnection?>
    private let keeper: SnapshotKeeperThread
    private let preserved: PreservedPages
    private let files: SnapshotFiles

    package var walPath: String { databasePath + "-wal" }

    /// Pages to read from the WAL instead of the database file (empty when fully checkpointed).
    package var walPages: [UInt32: UInt32] { files.walPages }

    /// Pages saved so far because a checkpoint was about to overwrite them.
    var preservedPages: Int { preserved.count }

    /// Takes the snapshot. With `blockWriters` it is set up under the write lock (held only
    /// for that moment), so nothing can be committed meanwhile. `lenient` (validating the live
    /// database): frames the WAL index says are committed are read even when their checksum
    /// is wrong (`scan.damagedFrames` lists them), and pages missing from a file cut short read
    /// as zeros (`readPages(…, missingAsZeros: true)`).
    package init(databasePath: String, blockWriters: Bool = false, lenient: Bool = false) throws(EngineError) {
        self.databasePath = databasePath
        let header = try DatabaseHeader.read(databasePath)
        // A read-write connection (that never writes): a read-only one cannot create a missing
        // WAL and would read the database file without taking part in WAL locking.
        let connection = try SQLiteConnection(path: databasePath, busyTimeoutMs: 10_000)
        let pin: WALPin
        let keeper: SnapshotKeeper
        do throws(EngineError) {
            guard try connection.journalMode == "wal" else {
                throw .notWALCapable(path: databasePath, reason: "the database is not in WAL mode; run `cairn init` to register it")
            }
            // (Lenient: the schema's pages may be the damaged ones; the header is enough to open the WAL.)
            _ = try connection.scalar(lenient ? "PRAGMA schema_version" : "SELECT count(*) FROM sqlite_master")
            (pin, writeLockHeld) = try Self.pin(databasePath, blockWriters: blockWriters)
        } catch {
            connection.close()
            throw error
        }
        do throws(EngineError) {
            guard let point = pin.pinnedAt else {
                throw .walChanged(path: databasePath + "-shm", detail: "the WAL index is not initialised")
            }
            let scan = try Self.scan(databasePath + "-wal", through: point, lenient: lenient)
            let dbFile = try SharedFiles.reader(databasePath)
            let fileBytes = try dbFile.size()
            self.scan = scan
            let walPages = point.fullyBackfilled ? [:] : scan.latestFrame
            pageSize = scan.header?.pageSize ?? header.pageSize
            files = SnapshotFiles(databasePath: databasePath, pageSize: pageSize, dbFile: dbFile,
                                  walFile: walPages.isEmpty ? nil : try RawFile(path: databasePath + "-wal", mode: .read),
                                  walHeader: scan.header, walPages: walPages)
            // With committed frames the last commit gives the size; otherwise the file is the
            // whole database (a complete checkpoint truncates it to the exact size, or to a
            // multiple of the application's chunk size: the header says how much is used).
            let headerPages = (try? DatabaseHeader.read(databasePath)).flatMap { $0.pageCountIsValid ? $0.pageCountField : nil }
            pageCount = scan.databasePages ?? headerPages ?? UInt32(fileBytes / UInt64(header.pageSize))
            position = Self.position(scan, point: point)
            preserved = try PreservedPages(besideDatabase: databasePath, pageSize: pageSize)
            keeper = SnapshotKeeper(pin: pin, at: point, pageCount: pageCount, preserved: preserved, files: files)
            try keeper.step()
        } catch {
            pin.releaseAll()
            connection.close()
            throw error
        }
        self.connection = Mutex(connection)
        self.keeper = SnapshotKeeperThread()
        self.keeper.start(keeper)
        files.dbFile.adviseSequential()
    }

    /// Sets up the pin; with `blockWriters`, under the write lock.
    private static func pin(_ databasePath: String, blockWriters: Bool) throws(EngineError) -> (WALPin, TimeInterval?) {
        guard blockWriters else { return (try WALPin(databasePath: databasePath), nil) }
        if let app = ApplicationWriters.writer(for: databasePath) {
            let held = Date()
            let pin = try app.withWriteLock(path: databasePath) { (_: OpaquePointer) throws(EngineError) -> WALPin in try WALPin(databasePath: databasePath) }
            return (pin, Date().timeIntervalSince(held))
        }
        let writer = try SQLiteConnection(path: databasePath, busyTimeoutMs: 10_000)
        defer { writer.close() }
        try writer.exec("BEGIN IMMEDIATE")
        let held = Date()
        defer { try? writer.exec("ROLLBACK") }
        let pin = try WALPin(databasePath: databasePath)
        return (pin, Date().timeIntervalSince(held))
    }

    /// The WAL's commits up to the snapshot's last frame, which must be there as the index says.
    private static func scan(_ walPath: String, through point: WALIndexState, lenient: Bool) throws(EngineError) -> WALScan {
        let scan = try WALFile.scan(path: walPath, through: point.mxFrame, lenient: lenient && point.mxFrame > 0)
        if point.mxFrame == 0 {
            return scan
        }
        guard let h = scan.header, h.salt1 == point.salt1, h.salt2 == point.salt2, scan.lastCommitFrame == point.mxFrame else {
            // Only possible for a snapshot that reads the database file alone, whose WAL was
            // restarted meanwhile: its frames are all in the file; nothing is read from the WAL.
            if point.fullyBackfilled { return WALScan(header: nil, lastCommitFrame: 0, commits: [], latestFrame: [:]) }
            throw EngineError.walChanged(path: walPath,
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
    package func pageMap() throws(EngineError) -> PageMap {
        let blockPages = max(1, (1 << 20) / pageSize)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: blockPages * pageSize, alignment: 4096)
        defer { buf.deallocate() }
        var map = PageMap(pageSize: pageSize)
        map.reserve(Int(pageCount))
        var next: UInt32 = 1
        while next <= pageCount {
            let n = Int(min(UInt32(blockPages), pageCount - next + 1))
            try readPages(first: next, count: n, into: buf)
            for i in 0..<n { map.append(Hash.page(buf + i * pageSize, size: pageSize, pgno: next + UInt32(i))) }
            next += UInt32(n)
        }
        return map
    }

    /// Lets go of the snapshot: checkpoints may then overwrite what it read. Once; later
    /// calls do nothing.
    package func close() {
        guard let connection = connection.withLock({ $0.take() }) else { return }
        keeper.stop()?.pin.releaseAll()
        connection.close()
    }

    /// Starts reading the WAL's frames the snapshot uses into the page cache in the
    /// background, in order: a pass over every page then finds them there instead of reading
    /// the WAL a frame at a time in page order (random reads).
    package func prefetchWAL() {
        guard let last = walPages.values.max(), let wal = files.walFile else { return }
        let end = WALScan.frameOffset(last, pageSize: pageSize) + UInt64(WALFile.frameHeaderSize + pageSize)
        wal.adviseWillNeed(offset: 0, count: Int(end))
    }

    /// Starts reading the given pages (ascending) from the database file in the background:
    /// scattered pages then arrive with the disk's parallelism instead of one at a time.
    package func prefetch(_ pages: PageSet) {
        var next = pages.next(from: 1)
        while let first = next {
            var run = 1
            next = pages.next(from: first + 1)
            while let n = next, n == first + UInt32(run) {
                run += 1
                next = pages.next(from: n + 1)
            }
            if walPages[first] == nil || run > 1 {
                files.dbFile.adviseWillNeed(offset: UInt64(first - 1) * UInt64(pageSize), count: run * pageSize)
            }
        }
    }

    /// Reads `count` consecutive pages starting at `first` (1-based) into `buffer`: the
    /// database file, then the snapshot's frames of pages it has in the WAL, then the versions
    /// saved before a checkpoint overwrote them (in that order: a page overwritten while it
    /// was read was saved before).
    /// `missingAsZeros`: a page neither in the file nor in the WAL reads as zeros instead of
    /// failing the read (validation: a file cut short).
    package func readPages(first: UInt32, count: Int, into buffer: UnsafeMutableRawPointer, missingAsZeros: Bool = false) throws(EngineError) {
        if let e = keeper.error { throw e }
        let walPages = files.walPages
        let bytes = count * pageSize
        let got = try files.dbFile.read(into: buffer, count: bytes, at: UInt64(first - 1) * UInt64(pageSize))
        if got < bytes {
            // Pages past the end of the file exist only in the WAL or among the saved pages.
            memset(buffer + got, 0, bytes - got)
        }
        if !walPages.isEmpty {
            for i in 0..<count {
                let pgno = first + UInt32(i)
                guard let frame = walPages[pgno] else { continue }
                try files.readFrame(frame, pgno: pgno, into: buffer + i * pageSize)
            }
        }
        try preserved.overlay(first: first, count: count, into: buffer)
        if got < bytes && !missingAsZeros {
            for i in (got / pageSize)..<count where walPages[first + UInt32(i)] == nil && !preserved.contains(first + UInt32(i)) {
                throw .walChanged(path: databasePath, detail: "page \(first + UInt32(i)) is neither in the database file nor in the WAL")
            }
        }
    }
}
