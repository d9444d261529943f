import Foundation
import CSystemShim
import CairnFormats

/// Rewrites pages of a database that no process has open as one SQLite transaction, made
/// atomic by SQLite's own write-ahead log: the WAL is checkpointed and emptied, then the pages
/// go into it as frames whose last one commits them (with the database's new size), and the
/// WAL is made durable. A crash before the commit frame is durable leaves frames SQLite's
/// recovery ignores (the old state); after, every opener of the database recovers the WAL and
/// sees the new state. The frames stay in the WAL until a checkpoint (the application's, or
/// the one capture drives) copies them: checkpointing here could copy, and lose from capture,
/// what an application wrote the moment the database was free again.
///
/// While the frames are written and `recorded` runs, no connection may open the database: the
/// WAL index's "dead man switch" byte is held exclusively (an opener gets SQLITE_BUSY and
/// waits in its busy handler), and the first connection afterwards rebuilds the index from
/// the WAL.
struct WALRewrite {
    let databasePath: String
    let pageSize: Int
    /// The byte every connection holds a shared lock on while it has the database open.
    static let deadManSwitch: Int64 = 128

    /// Writes `pages` (each given by `image`) and makes the database `databasePages` long;
    /// `recorded` is told where the WAL ends after the commit (what capture resumes after).
    /// `check` runs first, once the database file holds every committed transaction.
    func commit(pages: [UInt32], databasePages: UInt32, check: () throws(EngineError) -> Void,
                image: (UInt32, UnsafeMutableRawPointer) throws(EngineError) -> Void,
                recorded: (WALPosition) throws(EngineError) -> Void) throws(EngineError) {
        try checkpoint(purpose: "before the rewrite")
        try underExclusiveIndex { () throws(EngineError) in
            try check()
            try recorded(try writeWAL(pages: pages, databasePages: databasePages, image: image))
        }
    }

    /// Copies everything in the WAL into the database file and empties the WAL; fails when
    /// SQLite could not (a reader held it).
    func checkpoint(purpose: String) throws(EngineError) {
        let c = try SQLiteConnection(path: databasePath)
        defer { c.close() }
        guard try c.scalar("PRAGMA journal_mode")?.lowercased() == "wal" else {
            throw .notWALCapable(path: databasePath, reason: "it is not in WAL mode; the rewrite goes through SQLite's write-ahead log (PRAGMA journal_mode=WAL)")
        }
        let row = try c.rows("PRAGMA wal_checkpoint(TRUNCATE)").first ?? []
        guard row.first.flatMap({ $0 }) == "0" else {
            throw .databaseBusy(path: databasePath, detail: "SQLite could not checkpoint its WAL \(purpose) (another connection held it); nothing was changed, try again")
        }
    }

    private func underExclusiveIndex(_ body: () throws(EngineError) -> Void) throws(EngineError) {
        let shmPath = databasePath + "-shm"
        let fd = open(shmPath, O_RDWR | O_CREAT | O_CLOEXEC, databaseMode.bits)
        guard fd >= 0 else { throw EngineError.fromErrno("open the WAL index", shmPath, errno) }
        defer { close(fd) }
        guard cairn_ofd_lock(fd, Self.deadManSwitch, 1, 2) == 0 else {
            throw .databaseBusy(path: databasePath, detail: "another process opened the database meanwhile; nothing was changed, close it and try again")
        }
        defer { _ = cairn_ofd_lock(fd, Self.deadManSwitch, 1, 0) }
        // Whatever the index held describes a WAL now empty: the next opener rebuilds it.
        _ = ftruncate(fd, 0)
        try body()
    }

    private func writeWAL(pages: [UInt32], databasePages: UInt32, image: (UInt32, UnsafeMutableRawPointer) throws(EngineError) -> Void) throws(EngineError) -> WALPosition {
        let path = databasePath + "-wal"
        let file = try RawFile(path: path, mode: .createOrTruncate, permissions: databaseMode)
        let frameSize = WALFile.frameHeaderSize + pageSize
        let frame = UnsafeMutableRawPointer.allocate(byteCount: max(frameSize, WALFile.headerSize), alignment: 4096)
        defer { frame.deallocate() }
        let salts = (UInt32.random(in: 1...UInt32.max), UInt32.random(in: 1...UInt32.max))
        frame.initializeMemory(as: UInt8.self, repeating: 0, count: WALFile.headerSize)
        Self.putBE32(0x377f0682, frame, 0)
        Self.putBE32(3_007_000, frame, 4)
        Self.putBE32(UInt32(pageSize), frame, 8)
        Self.putBE32(0, frame, 12)
        Self.putBE32(salts.0, frame, 16)
        Self.putBE32(salts.1, frame, 20)
        var sum = WALFile.checksum(frame, 24, bigEndian: false, (0, 0))
        Self.putBE32(sum.0, frame, 24)
        Self.putBE32(sum.1, frame, 28)
        try file.write(frame, count: WALFile.headerSize, at: 0)
        // Page 1 always: it holds the size, and a commit needs at least one frame.
        let ordered = Set(pages + [1]).filter { $0 >= 1 && $0 <= databasePages }.sorted()
        for (i, pgno) in ordered.enumerated() {
            let page = frame + WALFile.frameHeaderSize
            try image(pgno, page)
            Self.putBE32(pgno, frame, 0)
            Self.putBE32(i == ordered.count - 1 ? databasePages : 0, frame, 4)
            Self.putBE32(salts.0, frame, 8)
            Self.putBE32(salts.1, frame, 12)
            sum = WALFile.checksum(frame, 8, bigEndian: false, sum)
            sum = WALFile.checksum(page, pageSize, bigEndian: false, sum)
            Self.putBE32(sum.0, frame, 16)
            Self.putBE32(sum.1, frame, 20)
            try file.write(frame, count: frameSize, at: UInt64(WALFile.headerSize + i * frameSize))
        }
        try file.sync()
        try FileSystem.fsyncDirectory(FileSystem.parent(of: path))
        return WALPosition(salt1: salts.0, salt2: salts.1, frame: UInt32(ordered.count), checksum1: sum.0, checksum2: sum.1)
    }

    /// The database file's permission bits, which SQLite gives its WAL and WAL index too.
    private var databaseMode: FileMode {
        var st = stat()
        return stat(databasePath, &st) == 0 ? FileMode(clamping: st.st_mode) : .ownerOnly
    }

    private static func putBE32(_ v: UInt32, _ p: UnsafeMutableRawPointer, _ off: Int) {
        p.storeBytes(of: v.bigEndian, toByteOffset: off, as: UInt32.self)
    }
}
