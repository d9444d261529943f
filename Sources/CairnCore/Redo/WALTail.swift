import Foundation

/// One committed transaction found in the WAL: its commit frame and, for every page it
/// changed, the frame holding the page's final image in that transaction.
struct WALTransaction {
    let commitFrame: UInt32
    let databasePages: UInt32
    let checksum: (UInt32, UInt32)
    /// (page number, frame index), sorted by page number.
    let pages: [(pgno: UInt32, frame: UInt32)]
}

/// Reads the committed transactions that follow a position in the WAL, continuing the
/// checksum chain from there, so each capture step reads only new frames.
enum WALTail {
    struct Result {
        let header: WALHeader?
        /// True when the WAL's generation (salts) differs from the position's.
        let newGeneration: Bool
        let transactions: [WALTransaction]
    }

    static func read(path: String, after position: WALPosition?) throws(CairnError) -> Result {
        let file: RawFile
        do throws(CairnError) { file = try RawFile(path: path, mode: .read) } catch {
            if case .missingFile = error { return Result(header: nil, newGeneration: position != nil && position!.frame > 0, transactions: []) }
            throw error
        }
        let size = try file.size()
        let hbuf = UnsafeMutableRawPointer.allocate(byteCount: WALFile.headerSize, alignment: 8)
        defer { hbuf.deallocate() }
        guard size >= UInt64(WALFile.headerSize), try file.read(into: hbuf, count: WALFile.headerSize, at: 0) == WALFile.headerSize,
              let header = WALFile.parseHeader(hbuf) else {
            return Result(header: nil, newGeneration: position != nil && position!.frame > 0, transactions: [])
        }
        let same = position.map { $0.salt1 == header.salt1 && $0.salt2 == header.salt2 } ?? false
        var frame: UInt32 = same ? position!.frame : 0
        var sum = same ? (position!.checksum1, position!.checksum2) : header.checksum
        let frameSize = WALFile.frameHeaderSize + header.pageSize
        let perChunk = max(1, (1 << 20) / frameSize)
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: perChunk * frameSize, alignment: 16)
        defer { chunk.deallocate() }
        var txns: [WALTransaction] = []
        var pending: [UInt32: UInt32] = [:]
        var offset = WALScan.frameOffset(frame + 1, pageSize: header.pageSize)
        scanning: while offset + UInt64(frameSize) <= size {
            let want = min(perChunk, Int((size - offset) / UInt64(frameSize)))
            let got = try file.read(into: chunk, count: want * frameSize, at: offset) / frameSize
            if got == 0 { break }
            for i in 0..<got {
                let f = chunk + i * frameSize
                let pgno = LE.getBE32(f, 0)
                let commitSize = LE.getBE32(f, 4)
                guard pgno > 0, LE.getBE32(f, 8) == header.salt1, LE.getBE32(f, 12) == header.salt2 else { break scanning }
                var s = WALFile.checksum(f, 8, bigEndian: header.bigEndianChecksum, sum)
                s = WALFile.checksum(f + WALFile.frameHeaderSize, header.pageSize, bigEndian: header.bigEndianChecksum, s)
                guard s.0 == LE.getBE32(f, 16), s.1 == LE.getBE32(f, 20) else { break scanning }
                sum = s
                frame += 1
                pending[pgno] = frame
                if commitSize != 0 {
                    let pages = pending.filter { $0.key <= commitSize }.map { (pgno: $0.key, frame: $0.value) }.sorted { $0.pgno < $1.pgno }
                    txns.append(WALTransaction(commitFrame: frame, databasePages: commitSize, checksum: s, pages: pages))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            offset += UInt64(got * frameSize)
            if got < want { break }
        }
        return Result(header: header, newGeneration: !same && position != nil, transactions: txns)
    }
}
