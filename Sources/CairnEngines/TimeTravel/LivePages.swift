import Foundation
import CairnFormats

/// The live database's pages as a connection opening it now would see them: a page's newest
/// frame in the committed part of the WAL, else the database file. Lets a flashback read,
/// check and rewrite the live database without checkpointing the WAL first (a checkpoint
/// copies every frame and syncs the file: it was a third of a small flashback's time).
///
/// Build it only while no connection has the database open (see `WALRewrite`): the WAL and
/// the file must not change under it.
final class LivePages {
    let databasePath: String
    let pageSize: Int
    /// The committed part of the WAL (no header, or no commit, when the WAL is empty).
    let wal: WALScan
    /// The database's size in pages: the last commit's, else the file's.
    let pageCount: UInt32
    private let file: RawFile
    private let walFile: RawFile?

    init(databasePath: String, pageSize: Int) throws(EngineError) {
        self.databasePath = databasePath
        self.pageSize = pageSize
        file = try RawFile(path: databasePath, mode: .read)
        let walPath = databasePath + "-wal"
        let scan = try WALFile.scan(path: walPath)
        if let header = scan.header, header.pageSize != pageSize, scan.lastCommitFrame > 0 {
            throw .verificationFailed(file: walPath, detail: "the WAL's pages are \(header.pageSize) bytes, the database's \(pageSize): nothing was changed. Open the database with sqlite3 once (it checkpoints the WAL) and try again.")
        }
        wal = scan
        walFile = scan.lastCommitFrame > 0 ? try RawFile(path: walPath, mode: .read) : nil
        let fileSize = try file.size()
        pageCount = scan.databasePages ?? UInt32(fileSize / UInt64(pageSize))
    }

    /// Where the committed WAL ends: what frames appended after it continue from (nil when
    /// the WAL holds no commit).
    var walEnd: (header: WALHeader, position: WALPosition)? {
        guard let header = wal.header, let last = wal.commits.last else { return nil }
        return (header, WALPosition(salt1: header.salt1, salt2: header.salt2, frame: last.frame,
                                    checksum1: last.checksum1, checksum2: last.checksum2))
    }

    /// Copies page `pgno` as the live database has it into `out`.
    func read(_ pgno: UInt32, into out: UnsafeMutableRawPointer) throws(EngineError) {
        if let walFile, let frame = wal.latestFrame[pgno] {
            let at = WALScan.frameOffset(frame, pageSize: pageSize) + UInt64(WALFile.frameHeaderSize)
            try walFile.readExactly(into: out, count: pageSize, at: at)
        } else {
            try file.readPage(pgno, pageSize: pageSize, into: out)
        }
    }

    /// The live database's header (page 1's first 100 bytes).
    func header() throws(EngineError) -> DatabaseHeader {
        let page = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { page.deallocate() }
        try read(1, into: page)
        return try DatabaseHeader(bytes: page, count: pageSize, file: databasePath)
    }
}
