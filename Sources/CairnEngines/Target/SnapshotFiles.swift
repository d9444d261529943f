import Foundation
import CairnFormats
import CairnCatalog

/// Where a snapshot's pages are: the database file, and for the pages the snapshot has in
/// the WAL, their frames up to its last commit. Only files opened for positional reads and
/// values, so the snapshot's readers and its keeper's thread share it (Sendable).
struct SnapshotFiles: Sendable {
    let databasePath: String
    let pageSize: Int
    let dbFile: RawFile
    /// The WAL, when pages are read from it.
    let walFile: RawFile?
    /// The snapshot's WAL generation (nil: the database file alone is the snapshot).
    let walHeader: WALHeader?
    /// Pages to read from the WAL instead of the database file (empty when fully checkpointed).
    let walPages: [UInt32: UInt32]

    var walPath: String { databasePath + "-wal" }

    /// Reads the snapshot's version of `pgno` from its WAL frame, or, when the WAL was
    /// restarted since (every frame of the snapshot's generation was then copied, and nothing
    /// after them without saving the page first), from the database file.
    func readFrame(_ frame: UInt32, pgno: UInt32, into page: UnsafeMutableRawPointer) throws(EngineError) {
        guard let wal = walFile, let header = walHeader else { return }
        let off = WALScan.frameOffset(frame, pageSize: pageSize)
        var frameHeader = (UInt64(0), UInt64(0), UInt64(0))
        // The frame header is checked after the page is read: a writer restarting the WAL
        // writes a frame's header before its page, so a header still in place means the page
        // read was the frame's.
        // (A restarted WAL may also be shorter than the frame.)
        let whole = try wal.read(into: page, count: pageSize, at: off + UInt64(WALFile.frameHeaderSize)) == pageSize
        let intact = try !whole ? false : withUnsafeMutableBytes(of: &frameHeader) { (h: UnsafeMutableRawBufferPointer) throws(EngineError) -> Bool in
            guard try wal.read(into: h.baseAddress!, count: WALFile.frameHeaderSize, at: off) == WALFile.frameHeaderSize else { return false }
            return LE.getBE32(h.baseAddress!, 0) == pgno && LE.getBE32(h.baseAddress!, 8) == header.salt1
                && LE.getBE32(h.baseAddress!, 12) == header.salt2
        }
        if intact { return }
        let got = try dbFile.read(into: page, count: pageSize, at: UInt64(pgno - 1) * UInt64(pageSize))
        if got < pageSize { throw .walChanged(path: walPath, detail: "frame \(frame) no longer holds page \(pgno), and the database file does not have it either") }
    }

    /// The snapshot's version of one page, for saving it before a checkpoint overwrites it.
    /// `snapshotGeneration`: the WAL is (or was a moment ago) still in the snapshot's generation.
    func readSnapshotPage(_ pgno: UInt32, into page: UnsafeMutableRawPointer, snapshotGeneration: Bool) throws(EngineError) {
        if snapshotGeneration, let frame = walPages[pgno] {
            return try readFrame(frame, pgno: pgno, into: page)
        }
        let got = try dbFile.read(into: page, count: pageSize, at: UInt64(pgno - 1) * UInt64(pageSize))
        if got < pageSize {
            throw .walChanged(path: databasePath, detail: "page \(pgno) of the snapshot is missing from the database file")
        }
    }
}
