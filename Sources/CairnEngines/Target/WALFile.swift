import CairnFormats
import CairnCatalog

/// Reader for SQLite's write-ahead log: validates the header, salts and the cumulative
/// checksums, and reports the committed frames.
///
/// WAL layout: a 32-byte header (magic, version, page size, checkpoint sequence, salt-1,
/// salt-2, checksum) then frames of a 24-byte header (page number, database size after
/// commit or 0, salt-1, salt-2, checksum) followed by one page. A frame is valid when its
/// salts equal the header's and its checksum continues the chain.
package struct WALHeader: Sendable, Equatable {
    package let bigEndianChecksum: Bool
    package let pageSize: Int
    package let checkpointSequence: UInt32
    package let salt1: UInt32
    package let salt2: UInt32
    package let checksum: (UInt32, UInt32)

    package static func == (a: WALHeader, b: WALHeader) -> Bool {
        a.salt1 == b.salt1 && a.salt2 == b.salt2 && a.pageSize == b.pageSize && a.checkpointSequence == b.checkpointSequence
    }
}

/// One committed transaction found in the WAL.
package struct WALCommit: Sendable, Equatable {
    /// 1-based index of the commit frame.
    package let frame: UInt32
    /// Database size in pages after the commit.
    package let databasePages: UInt32
    /// Cumulative WAL checksum after the commit frame.
    package var checksum1: UInt32 = 0
    package var checksum2: UInt32 = 0
}

/// What a scan of the WAL found, up to the last valid commit frame.
package struct WALScan: Sendable {
    package let header: WALHeader?
    /// Index of the last frame of the last committed transaction (0 when none).
    package let lastCommitFrame: UInt32
    package let commits: [WALCommit]
    /// For each page changed in the WAL, the index of its latest committed frame.
    package let latestFrame: [UInt32: UInt32]
    /// Frames taken although their checksum did not continue the chain (a lenient scan only:
    /// frames the WAL index says are committed, whose content was damaged since).
    package var damagedFrames: [UInt32] = []

    package var databasePages: UInt32? { commits.last?.databasePages }

    package static func frameOffset(_ frame: UInt32, pageSize: Int) -> UInt64 {
        32 + UInt64(frame - 1) * UInt64(24 + pageSize)
    }
}

package enum WALFile {
    package static let headerSize = 32
    package static let frameHeaderSize = 24

    /// Computes SQLite's WAL checksum over `count` bytes (a multiple of 8), continuing from `s`.
    @inline(__always)
    static func checksum(_ p: UnsafeRawPointer, _ count: Int, bigEndian: Bool, _ s: (UInt32, UInt32)) -> (UInt32, UInt32) {
        var s0 = s.0, s1 = s.1
        let words = p.assumingMemoryBound(to: UInt32.self)
        var i = 0
        let n = count / 4
        if bigEndian {
            while i < n {
                s0 = s0 &+ UInt32(bigEndian: words[i]) &+ s1
                s1 = s1 &+ UInt32(bigEndian: words[i + 1]) &+ s0
                i += 2
            }
        } else {
            while i < n {
                s0 = s0 &+ UInt32(littleEndian: words[i]) &+ s1
                s1 = s1 &+ UInt32(littleEndian: words[i + 1]) &+ s0
                i += 2
            }
        }
        return (s0, s1)
    }

    /// Parses the 32-byte header; nil when it is absent or invalid (SQLite then treats the WAL as empty).
    package static func parseHeader(_ p: UnsafeRawPointer) -> WALHeader? {
        let magic = LE.getBE32(p, 0)
        guard magic == 0x377f0682 || magic == 0x377f0683 else { return nil }
        guard LE.getBE32(p, 4) == 3007000 else { return nil }
        let pageSize = Int(LE.getBE32(p, 8))
        let ps = pageSize == 1 ? 65536 : pageSize
        guard ps >= 512, ps <= 65536, ps & (ps - 1) == 0 else { return nil }
        let big = magic & 1 == 1
        let c = checksum(p, 24, bigEndian: big, (0, 0))
        guard c.0 == LE.getBE32(p, 24), c.1 == LE.getBE32(p, 28) else { return nil }
        return WALHeader(bigEndianChecksum: big, pageSize: ps, checkpointSequence: LE.getBE32(p, 12),
                         salt1: LE.getBE32(p, 16), salt2: LE.getBE32(p, 20), checksum: c)
    }

    /// One valid frame, as handed out by `readFrames`.
    package struct Frame {
        package let index: UInt32
        package let pgno: UInt32
        /// Database size after the commit for a commit frame, else 0.
        package let commitSize: UInt32
        /// Cumulative checksum after this frame.
        package let checksum: (UInt32, UInt32)
        /// False for a frame taken by a lenient read although its checksum is wrong.
        package var intact = true
    }

    /// Reads the WAL header, then every frame after `start` (same generation: continue the
    /// checksum chain from there; otherwise from the first frame) while salts and checksums
    /// hold, handing each valid frame to `body`. Returns the header (nil when the WAL is
    /// missing, empty or has no valid header) and whether the generation matched `start`.
    @discardableResult
    package static func readFrames(path: String, after start: WALPosition?,
                                  _ body: (Frame) -> Void) throws(EngineError) -> (header: WALHeader?, sameGeneration: Bool) {
        let file: RawFile
        do throws(EngineError) { file = try RawFile(path: path, mode: .read) } catch {
            if case .missingFile = error { return (nil, false) }
            throw error
        }
        return try readFrames(file: file, after: start, body)
    }

    /// `readFrames(path:after:_:)` on an open WAL file.
    ///
    /// `expectedEnd`: the WAL's last committed frame as its index tells it (with its
    /// generation's salts), a hint of how much to read. The file keeps the frames of earlier
    /// generations after a restart (it is overwritten, not truncated), so reading "up to 1 MiB"
    /// would copy up to 1 MiB of stale frames at every call; with the hint the first read
    /// stops at that frame and further reads start small (2 frames, doubling), so frames
    /// committed after the index was read are still found.
    ///
    /// `trustedThrough`: frames up to this index whose salts are the header's are taken even
    /// when their checksum does not continue the chain (the chain goes on from the checksum
    /// they store); for reading what the WAL index says is committed, damaged or not.
    @discardableResult
    static func readFrames(file: RawFile, after start: WALPosition?, scratch: FrameScratch? = nil,
                           expectedEnd: (salt1: UInt32, salt2: UInt32, mxFrame: UInt32)? = nil, trustedThrough: UInt32 = 0,
                                  _ body: (Frame) -> Void) throws(EngineError) -> (header: WALHeader?, sameGeneration: Bool) {
        let size = try file.size()
        let hbuf = UnsafeMutableRawPointer.allocate(byteCount: headerSize, alignment: 8)
        defer { hbuf.deallocate() }
        guard size >= UInt64(headerSize), try file.read(into: hbuf, count: headerSize, at: 0) == headerSize,
              let header = parseHeader(hbuf) else { return (nil, false) }
        let same = start.map { $0.salt1 == header.salt1 && $0.salt2 == header.salt2 } ?? false
        var frame: UInt32 = same ? start!.frame : 0
        var sum = same ? (start!.checksum1, start!.checksum2) : header.checksum
        file.adviseSequential()
        let frameSize = frameHeaderSize + header.pageSize
        var offset = WALScan.frameOffset(frame + 1, pageSize: header.pageSize)
        // Up to 1 MiB at a time, no more than the file holds; a capture step reads a few
        // frames many times a second, into a buffer it keeps (`scratch`).
        let available = size > offset ? Int((size - offset) / UInt64(frameSize)) : 0
        let perChunk = max(1, min((1 << 20) / frameSize, available))
        let owned = scratch == nil ? UnsafeMutableRawPointer.allocate(byteCount: perChunk * frameSize, alignment: 16) : nil
        defer { owned?.deallocate() }
        let chunk = owned ?? scratch!.buffer(bytes: perChunk * frameSize)
        // Frames per read: `next`; with a hint for the first read, then 2, 4, 8, ... (`grow`).
        var next = perChunk
        var grow = 0
        if let e = expectedEnd, e.salt1 == header.salt1, e.salt2 == header.salt2 {
            next = max(1, Int(e.mxFrame) - Int(frame))
            grow = 2
        }
        scanning: while offset + UInt64(frameSize) <= size {
            let want = min(next, perChunk, Int((size - offset) / UInt64(frameSize)))
            if grow > 0 { (next, grow) = (grow, min(perChunk, 2 * grow)) }
            let got = try file.read(into: chunk, count: want * frameSize, at: offset) / frameSize
            if got == 0 { break }
            for i in 0..<got {
                let f = chunk + i * frameSize
                let pgno = LE.getBE32(f, 0)
                guard pgno > 0, LE.getBE32(f, 8) == header.salt1, LE.getBE32(f, 12) == header.salt2 else { break scanning }
                var s = checksum(f, 8, bigEndian: header.bigEndianChecksum, sum)
                s = checksum(f + frameHeaderSize, header.pageSize, bigEndian: header.bigEndianChecksum, s)
                let intact = s.0 == LE.getBE32(f, 16) && s.1 == LE.getBE32(f, 20)
                guard intact || frame < trustedThrough else { break scanning }
                if !intact { s = (LE.getBE32(f, 16), LE.getBE32(f, 20)) }
                sum = s
                frame += 1
                body(Frame(index: frame, pgno: pgno, commitSize: LE.getBE32(f, 4), checksum: s, intact: intact))
            }
            offset += UInt64(got * frameSize)
            if got < want { break }
        }
        return (header, same)
    }

    /// Scans the WAL at `path` from the start and returns its committed content, up to frame
    /// `last`. A missing or empty WAL gives an empty scan. `lenient`: frames up to `last` are
    /// taken even when their checksum is wrong (see `readFrames`), and listed as damaged.
    package static func scan(path: String, through last: UInt32 = .max, lenient: Bool = false) throws(EngineError) -> WALScan {
        var commits: [WALCommit] = []
        var latest: [UInt32: UInt32] = [:]
        var pending: [(UInt32, UInt32)] = []
        var damaged: [UInt32] = []
        let file: RawFile
        do throws(EngineError) { file = try RawFile(path: path, mode: .read) } catch {
            if case .missingFile = error { return WALScan(header: nil, lastCommitFrame: 0, commits: [], latestFrame: [:]) }
            throw error
        }
        let (header, _) = try readFrames(file: file, after: nil, trustedThrough: lenient && last != .max ? last : 0) { f in
            guard f.index <= last else { return }
            if !f.intact { damaged.append(f.index) }
            pending.append((f.pgno, f.index))
            if f.commitSize != 0 {
                for (p, fr) in pending { latest[p] = fr }
                pending.removeAll(keepingCapacity: true)
                commits.append(WALCommit(frame: f.index, databasePages: f.commitSize, checksum1: f.checksum.0, checksum2: f.checksum.1))
            }
        }
        // Pages beyond the final database size of the last commit are not part of the database.
        if let last = commits.last {
            latest = latest.filter { $0.key <= last.databasePages }
        }
        return WALScan(header: header, lastCommitFrame: commits.last?.frame ?? 0, commits: commits, latestFrame: latest, damagedFrames: damaged)
    }
}

/// A buffer for `WALFile.readFrames` kept from one call to the next (it grows to the
/// largest read, at most 1 MiB and a frame).
final class FrameScratch {
    private var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    func buffer(bytes: Int) -> UnsafeMutableRawPointer {
        if let pointer, capacity >= bytes { return pointer }
        pointer?.deallocate()
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        pointer = p
        capacity = bytes
        return p
    }

    deinit { pointer?.deallocate() }
}
