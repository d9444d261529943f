import Foundation
import CairnFormats
import CairnCatalog

/// Appends encoded blocks to backup pieces, starting a new piece whenever the next block
/// would take the current one past the maximum piece size. Each finished piece gets its
/// trailer and is fsync'd; the writer reports every piece for the manifest. Not Sendable:
/// the pipeline's consumer thread has it for the run, its starter before and after.
final class BackupPieceWriter {
    private let directory: String
    private let template: BackupPieceFormat.Header
    private let maxPieceSize: UInt64
    private let keys: UnlockedKeyring?
    private var file: StoredFileWriter?
    /// Plaintext bytes of the current piece (what the maximum piece size bounds).
    private var offset: UInt64 { file?.size ?? 0 }
    /// Chains the piece header and every block header (each block header carries the
    /// checksum of its block), for the trailer.
    private var contentHash = StreamingHash()
    private var blocks: UInt64 = 0
    private var pages: UInt64 = 0
    private var hashSum: UInt64 = 0
    private var firstPage: UInt32 = 0
    private var lastPage: UInt32 = 0
    private var index = BlockIndex()
    private(set) var finished: [BackupManifest.File] = []
    private var scratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    /// Re-reads each finished piece on another thread while the next ones are written.
    let verifier = TransferVerifier()

    /// Opens piece N's file instead of `directory/piece-N.cbp` (a container's member, written
    /// after the container's prefix); such pieces are checked by their container's writer.
    private let opener: ((Int) throws(EngineError) -> StoredFileWriter)?

    /// `keys`: encrypt each piece (the manifest then records the encrypted file's size and XXH3).
    init(directory: String, template: BackupPieceFormat.Header, maxPieceSize: UInt64, keys: UnlockedKeyring? = nil,
         opener: ((Int) throws(EngineError) -> StoredFileWriter)? = nil) {
        self.opener = opener
        self.keys = keys
        self.directory = directory
        self.template = template
        self.maxPieceSize = maxPieceSize
    }

    deinit { scratch.deallocate() }

    static func pieceName(_ n: Int) -> String {
        let s = String(n)
        return "piece-" + String(repeating: "0", count: max(0, 4 - s.count)) + s + ".cbp"
    }

    private func put(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        try file!.append(p, count)
    }

    private func put(_ bytes: RawSpan) throws(EngineError) {
        try file!.append(bytes)
    }

    private func open() throws(EngineError) {
        let n = finished.count + 1
        let f: StoredFileWriter
        if let opener { f = try opener(n) } else { f = try StoredFileWriter(path: directory + "/" + Self.pieceName(n), keys: keys) }
        file = f
        contentHash = StreamingHash()
        blocks = 0; pages = 0; hashSum = 0
        index = BlockIndex()
        var h = template
        h.piece = UInt32(n)
        BackupPieceFormat.encodeHeader(h, into: scratch)
        try put(scratch, BackupPieceFormat.headerSize)
        contentHash.update(scratch, BackupPieceFormat.headerSize)
    }

    /// Appends one block: `head` holds the block header and entries, `payload` the pages
    /// (bytes of a pipeline slot, lent for the call).
    func append(head: RawSpan, payload: RawSpan, pages blockPages: Int, hashSum blockSum: UInt64,
                firstPage fp: UInt32, lastPage lp: UInt32) throws(EngineError) {
        let size = UInt64(head.byteCount + payload.byteCount)
        if file != nil, blocks > 0, offset + size + UInt64(BackupPieceFormat.trailerSize) > maxPieceSize {
            try finishPiece()
        }
        if file == nil { try open() }
        if blocks == 0 { firstPage = fp }
        lastPage = lp
        index.append(firstPage: fp, offset: offset)
        try put(head)
        contentHash.update(head.extracting(first: BackupPieceFormat.blockHeaderSize))
        try put(payload)
        blocks += 1
        pages += UInt64(blockPages)
        hashSum &+= blockSum
    }

    func finishPiece() throws(EngineError) {
        guard let f = file else { return }
        BackupPieceFormat.encodeTrailer(.init(blocks: blocks, pages: pages, pageHashSum: hashSum, contentHash: contentHash.value), into: scratch)
        try put(scratch, BackupPieceFormat.trailerSize)
        try f.finish()
        let name = opener == nil ? (f.path as NSString).lastPathComponent : Self.pieceName(finished.count + 1)
        let entry = BackupManifest.File(name: name, bytes: f.storedSize - f.prefixSize, xxh3: Hash.hex(f.storedHash),
                                        pages: pages, firstPage: firstPage, lastPage: lastPage, blockIndex: index.encoded)
        finished.append(entry)
        if opener == nil { verifier.submit(path: f.path, bytes: f.storedSize, xxh3: entry.xxh3) }
        file = nil
    }
}
