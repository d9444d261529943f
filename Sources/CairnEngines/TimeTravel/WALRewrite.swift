import Foundation
import CSystemShim
import CairnFormats

/// Rewrites pages of a database that no process has open as one SQLite transaction, made
/// atomic by SQLite's own write-ahead log: the pages go into the WAL as frames after its last
/// committed one (or into a new WAL when it holds none), the last frame commits them (with the
/// database's new size), and the WAL is made durable. A crash before the commit frame is
/// durable leaves frames SQLite's recovery ignores (the old state); after, every opener of the
/// database recovers the WAL and sees the new state. Nothing is checkpointed: the frames
/// already in the WAL stay where they are (the pages rewritten are read through them, see
/// `LivePages`), and all of them reach the file at the next checkpoint (the application's,
/// or the one capture drives). Checkpointing here would cost the copy of the whole WAL and a
/// sync of the file, and could copy, and lose from capture, what an application wrote the
/// moment the database was free again.
///
/// While the frames are written and `recorded` runs, no connection may open the database: the
/// WAL index's "dead man switch" byte is held exclusively (an opener gets SQLITE_BUSY and
/// waits in its busy handler), and the first connection afterwards rebuilds the index from
/// the WAL.
struct WALRewrite {
    typealias PageImage = (UInt32, UnsafeMutableRawPointer) throws(EngineError) -> Void
    let databasePath: String
    let pageSize: Int
    /// The byte every connection holds a shared lock on while it has the database open.
    static let deadManSwitch: Int64 = 128

    /// Writes `pages` and makes the database `databasePages` long; `prepare` is given the live
    /// database (once no connection can change it) to check it and return where each page's
    /// new content comes from; `recorded` is told where the WAL ends after the commit (what
    /// capture resumes after).
    func commit(pages: [UInt32], databasePages: UInt32, prepare: (LivePages) throws(EngineError) -> PageImage,
                recorded: (WALPosition) throws(EngineError) -> Void) throws(EngineError) {
        try underExclusiveIndex { () throws(EngineError) in
            let live = try LivePages(databasePath: databasePath, pageSize: pageSize)
            guard try live.header().isWAL else {
                throw .notWALCapable(path: databasePath, reason: "it is not in WAL mode; the rewrite goes through SQLite's write-ahead log (PRAGMA journal_mode=WAL)")
            }
            let image = try prepare(live)
            try recorded(try writeWAL(pages: pages, databasePages: databasePages, after: live.walEnd, image: image))
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

    /// Writes the frames after `end` (continuing its generation and checksum chain), or as a
    /// new WAL with fresh salts when `end` is nil.
    private func writeWAL(pages: [UInt32], databasePages: UInt32, after end: (header: WALHeader, position: WALPosition)?,
                          image: PageImage) throws(EngineError) -> WALPosition {
        let path = databasePath + "-wal"
        let file = try RawFile(path: path, mode: end == nil ? .createOrTruncate : .readWrite, permissions: databaseMode)
        let frameSize = WALFile.frameHeaderSize + pageSize
        let frame = UnsafeMutableRawPointer.allocate(byteCount: max(frameSize, WALFile.headerSize), alignment: 4096)
        defer { frame.deallocate() }
        let start: WALPosition, bigEndian: Bool
        if let end {
            (start, bigEndian) = (end.position, end.header.bigEndianChecksum)
        } else {
            (start, bigEndian) = (try writeHeader(file, buffer: frame), false)
        }
        var sum = (start.checksum1, start.checksum2)
        // Page 1 always: it holds the size, and a commit needs at least one frame.
        let ordered = Set(pages + [1]).filter { $0 >= 1 && $0 <= databasePages }.sorted()
        for (i, pgno) in ordered.enumerated() {
            let page = frame + WALFile.frameHeaderSize
            try image(pgno, page)
            Self.putBE32(pgno, frame, 0)
            Self.putBE32(i == ordered.count - 1 ? databasePages : 0, frame, 4)
            Self.putBE32(start.salt1, frame, 8)
            Self.putBE32(start.salt2, frame, 12)
            sum = WALFile.checksum(frame, 8, bigEndian: bigEndian, sum)
            sum = WALFile.checksum(page, pageSize, bigEndian: bigEndian, sum)
            Self.putBE32(sum.0, frame, 16)
            Self.putBE32(sum.1, frame, 20)
            try file.write(frame, count: frameSize, at: WALScan.frameOffset(start.frame + UInt32(i) + 1, pageSize: pageSize))
        }
        try file.sync()
        if end == nil { try FileSystem.fsyncDirectory(FileSystem.parent(of: path)) }
        return WALPosition(salt1: start.salt1, salt2: start.salt2, frame: start.frame + UInt32(ordered.count), checksum1: sum.0, checksum2: sum.1)
    }

    /// Writes a new WAL header with fresh salts (little-endian checksums, as SQLite writes
    /// them on this machine); returns the position before its first frame.
    private func writeHeader(_ file: RawFile, buffer: UnsafeMutableRawPointer) throws(EngineError) -> WALPosition {
        let salts = (UInt32.random(in: 1...UInt32.max), UInt32.random(in: 1...UInt32.max))
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: WALFile.headerSize)
        Self.putBE32(0x377f0682, buffer, 0)
        Self.putBE32(3_007_000, buffer, 4)
        Self.putBE32(UInt32(pageSize), buffer, 8)
        Self.putBE32(0, buffer, 12)
        Self.putBE32(salts.0, buffer, 16)
        Self.putBE32(salts.1, buffer, 20)
        let sum = WALFile.checksum(buffer, 24, bigEndian: false, (0, 0))
        Self.putBE32(sum.0, buffer, 24)
        Self.putBE32(sum.1, buffer, 28)
        try file.write(buffer, count: WALFile.headerSize, at: 0)
        return WALPosition(salt1: salts.0, salt2: salts.1, frame: 0, checksum1: sum.0, checksum2: sum.1)
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
