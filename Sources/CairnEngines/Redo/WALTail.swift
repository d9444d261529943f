import CairnFormats
import CairnCatalog

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

    static func read(path: String, after position: WALPosition?) throws(EngineError) -> Result {
        guard let file = try? RawFile(path: path, mode: .read) else {
            return Result(header: nil, newGeneration: (position?.frame ?? 0) > 0, transactions: [])
        }
        return try read(file: file, after: position)
    }

    static func read(file: RawFile, after position: WALPosition?, scratch: FrameScratch? = nil,
                     indexed: WALIndexState? = nil) throws(EngineError) -> Result {
        var txns: [WALTransaction] = []
        var pending: [UInt32: UInt32] = [:]
        let hint = indexed.map { (salt1: $0.salt1, salt2: $0.salt2, mxFrame: $0.mxFrame) }
        let (header, same) = try WALFile.readFrames(file: file, after: position, scratch: scratch, expectedEnd: hint) { f in
            pending[f.pgno] = f.index
            if f.commitSize != 0 {
                let pages = pending.filter { $0.key <= f.commitSize }.map { (pgno: $0.key, frame: $0.value) }.sorted { $0.pgno < $1.pgno }
                txns.append(WALTransaction(commitFrame: f.index, databasePages: f.commitSize, checksum: f.checksum, pages: pages))
                pending.removeAll(keepingCapacity: true)
            }
        }
        let newGeneration = header == nil ? (position?.frame ?? 0) > 0 : !same && position != nil
        return Result(header: header, newGeneration: newGeneration, transactions: txns)
    }
}
