import Foundation
import CairnFormats
import CairnCatalog

/// Keeps a snapshot readable without ever standing in the way of a checkpoint.
///
/// A SQLite read transaction would keep the snapshot by stopping the application: a
/// checkpoint cannot copy past its read mark, and a RESTART or TRUNCATE checkpoint waits for
/// it to end (its busy timeout, then SQLITE_BUSY) for as long as a backup reads. Instead the
/// snapshot holds a `WALPin` (the same reader-slot locks and read marks, but moved by Cairn),
/// and this keeper moves it the way capture moves its own, with one difference: before the pin
/// lets a checkpoint copy a frame into the database file, the version the snapshot has of
/// that frame's page is saved (`PreservedPages`), and readers of the snapshot take saved
/// versions over the file's. So:
/// - every page not saved is, in the database file, still as the snapshot has it (or older,
///   with the snapshot's version in a frame of its WAL generation up to its last frame,
///   which cannot be overwritten before that generation is copied and restarted, which needs
///   the pin to let go of its reader slot, which it does only once every frame is copied);
/// - a checkpoint that copies every frame truncates the database file to the size of the
///   last commit: pages of the snapshot beyond that size are saved first too;
/// - the pin follows the WAL at once (a poll of the WAL index every half millisecond): its
///   read mark stands at the last frame whose pages are saved, and once every frame is saved
///   and copied it moves to read lock 0, so a RESTART or TRUNCATE goes on at its next try.
/// What an application's checkpoint waits for is at most the saving of the pages committed
/// since the last look: the same bound as capture (`CaptureLoop.keepPinsCurrent`).
///
/// It belongs to one thread at a time: the snapshot's while it is taken, then its own
/// (`SnapshotKeeperThread`) until the snapshot closes and lets the pin go.
final class SnapshotKeeper {
    let pin: WALPin
    private let pageCount: UInt32
    private let preserved: PreservedPages
    /// Where the snapshot's version of a page is read from before it is saved.
    private let files: SnapshotFiles
    private let snapshotSalts: (UInt32, UInt32)
    /// The last frame whose pages are saved (or belong to the snapshot), of its generation.
    private var saved: WALPosition
    /// Pages above this are saved (a checkpoint may truncate the file to it).
    private var savedAbove: UInt32
    private var wal: RawFile?
    private let page: UnsafeMutableRawPointer
    private let frameHeader = UnsafeMutableRawPointer.allocate(byteCount: WALFile.frameHeaderSize, alignment: 8)

    init(pin: WALPin, at point: WALIndexState, pageCount: UInt32, preserved: PreservedPages, files: SnapshotFiles) {
        self.pin = pin
        self.pageCount = pageCount
        self.preserved = preserved
        self.files = files
        snapshotSalts = (point.salt1, point.salt2)
        saved = WALPosition(salt1: point.salt1, salt2: point.salt2, frame: point.mxFrame, checksum1: 0, checksum2: 0)
        savedAbove = pageCount
        page = UnsafeMutableRawPointer.allocate(byteCount: files.pageSize, alignment: 4096)
    }

    deinit {
        page.deallocate()
        frameHeader.deallocate()
    }

    private var pageSize: Int { files.pageSize }
    private var walPath: String { files.walPath }

    /// One look: saves the pages of frames committed since the last look (and pages beyond a
    /// shrunken database's end), then moves the pin as far as they allow.
    func step() throws(EngineError) {
        guard let now = pin.index.read() else { return }
        let sameGeneration = now.sameGeneration(salt1: saved.salt1, salt2: saved.salt2)
        if !sameGeneration || now.mxFrame > saved.frame {
            // A new generation is possible only once the pin let every frame of the old one
            // be copied (read lock 0): its frames are all new.
            let from = sameGeneration ? saved.frame + 1 : 1
            if now.mxFrame >= from { try preserveFrames(from...now.mxFrame, of: now) }
            saved = WALPosition(salt1: now.salt1, salt2: now.salt2, frame: now.mxFrame, checksum1: 0, checksum2: 0)
        }
        if now.databasePages > 0, now.databasePages < savedAbove {
            try preservePages(now.databasePages + 1, through: savedAbove, in: now)
            savedAbove = now.databasePages
        }
        movePin()
    }

    private func movePin() {
        guard let after = pin.index.read() else { return }
        if WALPin.everythingCopied(after, captured: saved), pin.pinFileAlone(captured: saved) { return }
        guard after.sameGeneration(salt1: saved.salt1, salt2: saved.salt2), saved.frame <= after.mxFrame else { return }
        // When no slot fits, the pin stays where it is (still safe) and the next poll tries again.
        _ = pin.pinMark(saved.frame, mxFrame: after.mxFrame)
    }

    private func isSnapshotGeneration(_ s: WALIndexState) -> Bool {
        s.sameGeneration(salt1: snapshotSalts.0, salt2: snapshotSalts.1)
    }

    /// Saves the snapshot's version of every page that frames `frames` of generation `now` hold.
    private func preserveFrames(_ frames: ClosedRange<UInt32>, of now: WALIndexState) throws(EngineError) {
        if wal == nil { wal = try RawFile(path: walPath, mode: .read) }
        guard let wal else { return }
        var pages = Set<UInt32>()
        for f in frames {
            try wal.readExactly(into: frameHeader, count: WALFile.frameHeaderSize, at: WALScan.frameOffset(f, pageSize: pageSize))
            guard LE.getBE32(frameHeader, 8) == now.salt1, LE.getBE32(frameHeader, 12) == now.salt2 else {
                throw .walChanged(path: walPath, detail: "frame \(f) does not belong to the WAL generation the index describes")
            }
            let pgno = LE.getBE32(frameHeader, 0)
            if pgno <= min(pageCount, savedAbove) { pages.insert(pgno) }
        }
        let generation = isSnapshotGeneration(now)
        for pgno in pages.sorted() where !preserved.contains(pgno) {
            try files.readSnapshotPage(pgno, into: page, snapshotGeneration: generation)
            try preserved.store(pgno, from: page)
        }
    }

    private func preservePages(_ first: UInt32, through last: UInt32, in now: WALIndexState) throws(EngineError) {
        guard first <= last else { return }
        let generation = isSnapshotGeneration(now)
        for pgno in first...last where !preserved.contains(pgno) {
            try files.readSnapshotPage(pgno, into: page, snapshotGeneration: generation)
            try preserved.store(pgno, from: page)
        }
    }
}
