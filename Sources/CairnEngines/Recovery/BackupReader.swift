import Foundation
import CairnFormats
import CairnCatalog

/// Reads every page of a backup (backup set or image copy), verifying each byte before it
/// is handed on: piece headers, block checksums, every page's hash, piece trailers, each
/// file's whole checksum and size, page coverage, and finally the database state checksum.
/// Runs decoding on several threads and hands blocks to `sink` in page order.
package struct BackupReader {
    package let directory: String
    package let manifest: BackupManifest
    package let expectedDbid: UInt64
    package var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    package var monitor = OperationMonitor()
    /// Opens a piece the manifest lists (a container's member) instead of `directory/NAME`.
    var pieceOpener: ((BackupManifest.File) throws(EngineError) -> StoredFile)?

    package init(directory: String, manifest: BackupManifest, expectedDbid: UInt64) {
        self.directory = directory
        self.manifest = manifest
        self.expectedDbid = expectedDbid
    }

    /// Reads all pages, handing each verified block to `sink`, in order, on a thread of the
    /// reader's (`sink` moves there for the read and is handed back). A level-1 backup holds
    /// only the pages changed since its base, ascending; each is also checked against the
    /// backup's page map.
    package func read<Sink: BackupBlockSink>(label: String, into sink: consuming sending Sink) throws(EngineError) -> sending Sink {
        guard UInt64(manifest.dbid) == expectedDbid else {
            throw .dbidMismatch(database: manifest.databaseName, expected: UInt64(manifest.dbid) ?? 0, found: expectedDbid,
                                file: directory + "/" + BackupManifest.fileName)
        }
        guard manifest.blockPages > 0, manifest.blockPages * manifest.pageSize <= 1 << 24, manifest.pageSize >= 512 else {
            throw .corrupt(file: directory + "/" + BackupManifest.fileName, offset: nil, detail: "implausible block size \(manifest.blockPages) pages of \(manifest.pageSize) bytes")
        }
        let progress = ProgressMeter(label: label, totalBytes: UInt64(manifest.pageCount) * UInt64(manifest.pageSize), monitor: monitor)
        let slots = (0..<6).map { _ in PageBlockSlot(pageSize: manifest.pageSize, capacityPages: manifest.blockPages) }
        let decompressors = (0..<workers).map { _ in Decompressor() }
        let coverage = CoverageCheck(manifest: manifest, directory: directory,
                                     pageMap: manifest.pageMap == nil && manifest.level == 0 ? nil : try BackupEngine.readPageMap(directory: directory, manifest: manifest))
        let source: BlockSource = manifest.kind == .imageCopy ? try ImageCopySource(self) : PieceSource(self)
        let decoder = BlockDecoder(stored: manifest.kind != .imageCopy, level1: manifest.level > 0)
        let pipeline = OrderedPipeline(slots: slots, workers: workers)
        let output: VerifiedBlocks<Sink>
        do {
            output = try pipeline.run(
                produce: { slot in try source.next(into: slot) },
                transform: { slot, w in
                    try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in try decoder.decode(&b, decompressors[w]) }
                },
                consumer: VerifiedBlocks(coverage: coverage, sink: sink),
                consume: { output, slot in try output.accept(slot, progress: progress) })
        } catch let e as EngineError { throw e } catch {
            throw .io(operation: "read backup: \(error)", path: directory, errno: EIO)
        }
        try source.finish()
        try output.coverage.finish()
        progress.finish()
        return output.sink
    }
}

/// Receives the verified blocks of a backup in page order, on the reader's consumer thread.
package protocol BackupBlockSink: SendableMetatype {
    /// `pages` holds `hashes.count` pages, numbered `pgnos` (ascending), with their hashes.
    mutating func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) throws(EngineError)
}

/// What the reader's consumer thread has: the coverage check and the caller's sink.
struct VerifiedBlocks<Sink: BackupBlockSink> {
    let coverage: CoverageCheck
    var sink: Sink

    mutating func accept(_ slot: PageBlockSlot, progress: ProgressMeter) throws(EngineError) {
        try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
            try coverage.accept(first: b.firstPage, pgnos: b.pgnoList.span, hashes: b.hashList.span, hashSum: b.hashSum,
                                source: b.sourcePath, offset: b.sourceOffset)
            try sink.accept(pages: b.pageBytes.bytes, hashes: b.hashList.span, pgnos: b.pgnoList.span)
            try progress.advance(UInt64(b.rawBytes))
        }
    }
}

/// Checks that blocks arrive in page order, cover 1...pageCount exactly, and sum to the
/// manifest's state checksum. For a level 1: pages strictly ascending within the database,
/// as many as the manifest says, each equal to the backup's page map (whose sum is the state).
/// Not Sendable: the reader's consumer thread has it for the read, its starter before and after.
final class CoverageCheck {
    let manifest: BackupManifest
    let directory: String
    let pageMap: PageMap?
    var next: UInt32 = 1
    var sum: UInt64 = 0
    var stored: UInt64 = 0

    init(manifest: BackupManifest, directory: String, pageMap: PageMap? = nil) {
        self.manifest = manifest
        self.directory = directory
        self.pageMap = pageMap
    }

    /// One block: its first page, page numbers and hashes, their sum, and where it was read
    /// (for messages).
    func accept(first: UInt32, pgnos: Span<UInt32>, hashes: Span<UInt64>, hashSum: UInt64, source: String, offset: UInt64) throws(EngineError) {
        defer { pageMap?.trim() }
        if manifest.level == 0, let map = pageMap {
            // The map was checked against the manifest when loaded: a page that differs from it is damaged.
            for i in pgnos.indices where map.hashes.count < Int(pgnos[i]) || map.hashes[Int(pgnos[i]) - 1] != hashes[i] {
                throw .corrupt(file: source.isEmpty ? directory : source, offset: offset,
                               detail: "page \(pgnos[i]) differs from the backup's page map (the page is damaged)")
            }
        }
        if manifest.level > 0, let map = pageMap {
            for i in pgnos.indices {
                let pgno = pgnos[i]
                guard pgno >= next, pgno <= manifest.pageCount else {
                    throw .corrupt(file: directory, offset: nil, detail: "page \(pgno) out of order or past the end of the database (blocks missing, repeated or swapped)")
                }
                guard map.hashes[Int(pgno) - 1] == hashes[i] else {
                    throw .corrupt(file: directory + "/" + BackupEngine.pageMapName, offset: nil, detail: "page \(pgno) differs from the backup's page map")
                }
                next = pgno + 1
            }
            stored += UInt64(pgnos.count)
            return
        }
        try accept(first: first, count: pgnos.count, hashSum: hashSum)
    }

    func accept(first: UInt32, count: Int, hashSum: UInt64) throws(EngineError) {
        guard first == next, UInt64(first) + UInt64(count) - 1 <= UInt64(manifest.pageCount) else {
            throw .corrupt(file: directory, offset: nil, detail: "pages out of order: expected page \(next), found \(first) (blocks missing, repeated or swapped)")
        }
        next = first + UInt32(count)
        sum &+= hashSum
    }

    func finish() throws(EngineError) {
        if manifest.level > 0 {
            guard stored == manifest.pagesStored ?? 0 else {
                throw .corrupt(file: directory, offset: nil, detail: "the backup holds \(stored) pages but the manifest records \(manifest.pagesStored ?? 0)")
            }
            return
        }
        guard next == manifest.pageCount + 1 else {
            throw .corrupt(file: directory, offset: nil, detail: "the backup holds pages 1...\(next - 1) but the database has \(manifest.pageCount)")
        }
        guard Hash.hex(sum) == manifest.stateChecksum else {
            throw .verificationFailed(file: directory, detail: "database state checksum \(Hash.hex(sum)) differs from the manifest's \(manifest.stateChecksum)")
        }
    }
}

/// Where the stored blocks of a backup come from, in order. Used by the reading thread only.
protocol BlockSource: AnyObject {
    /// Reads the next block's stored bytes into the slot; false at the end.
    func next(into slot: PageBlockSlot) throws(EngineError) -> Bool
    /// Final checks once every block has been read.
    func finish() throws(EngineError)
}

/// How the workers verify and decode a block into raw pages with `hashSum` set: values only,
/// so every worker has it.
struct BlockDecoder: Sendable {
    /// Blocks of backup pieces (entries, maybe compressed); false: pages of an image copy.
    let stored: Bool
    /// A level 1: pages ascending rather than consecutive.
    let level1: Bool

    func decode(_ b: inout PageBlock, _ d: Decompressor) throws(EngineError) {
        guard stored else { return b.hashPages() }
        let path = b.sourcePath
        let at = b.sourceOffset
        let entriesCount = b.count * BackupPieceFormat.entrySize
        let bodyHash = Hash.xxh3(b.payload, b.payloadCount, seed: Hash.xxh3(b.entries, entriesCount))
        guard bodyHash == LE.get64(b.encoded, 16) else {
            throw EngineError.corrupt(file: path, offset: at, detail: "block checksum mismatch")
        }
        if b.flags == 1 {
            var pages = UnsafeMutableRawBufferPointer(start: b.pages, count: b.rawBytes).mutableBytes
            guard d.decompress(b.payloadBytes.bytes, into: &pages) else {
                throw EngineError.corrupt(file: path, offset: at, detail: "compressed block does not decode")
            }
        }
        var sum: UInt64 = 0
        for i in 0..<b.count {
            let pgno = LE.get32(b.entries, i * BackupPieceFormat.entrySize)
            let expected = LE.get64(b.entries, i * BackupPieceFormat.entrySize + 4)
            if level1 {
                guard pgno > (i == 0 ? 0 : b.pgnos[i - 1]) else {
                    throw EngineError.corrupt(file: path, offset: at, detail: "block pages are not in ascending order")
                }
            } else {
                guard pgno == b.firstPage + UInt32(i) else {
                    throw EngineError.corrupt(file: path, offset: at, detail: "block pages are not consecutive")
                }
            }
            b.pgnos[i] = pgno
            let h = Hash.page(b.pages + i * b.pageSize, size: b.pageSize, pgno: pgno)
            guard h == expected else {
                throw EngineError.corrupt(file: path, offset: at, detail: "page \(pgno) checksum mismatch")
            }
            b.hashes[i] = h
            sum &+= h
        }
        b.hashSum = sum
    }
}

/// Blocks of the pieces of a backup set, piece by piece.
final class PieceSource: BlockSource {
    let reader: BackupReader
    var pieceIndex = -1
    var file: StoredFile?
    var offset: UInt64 = 0
    var end: UInt64 = 0
    var fileHash = StreamingHash()
    var contentHash = StreamingHash()
    var blocks: UInt64 = 0
    var pages: UInt64 = 0
    var pieceSum: UInt64 = 0
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)

    init(_ reader: BackupReader) { self.reader = reader }
    deinit { scratch.deallocate() }

    /// Reads the next `n` bytes; `chained` adds them to the trailer's chain (the piece header
    /// and block headers).
    private func read(_ p: UnsafeMutableRawPointer, _ n: Int, chained: Bool = false) throws(EngineError) {
        try file!.readExactly(into: p, count: n, at: offset)
        fileHash.update(p, n)
        if chained { contentHash.update(p, n) }
        offset += UInt64(n)
    }

    /// Reads the next bytes into a slot's buffer (lent as a span for the call).
    private func read(into bytes: inout MutableRawSpan, chained: Bool = false) throws(EngineError) {
        try bytes.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws(EngineError) in
            guard let p = b.baseAddress else { return }
            try read(p, b.count, chained: chained)
        }
    }

    private func openNextPiece() throws(EngineError) -> Bool {
        if file != nil { try finishPiece() }
        pieceIndex += 1
        guard pieceIndex < reader.manifest.files.count else { return false }
        let meta = reader.manifest.files[pieceIndex]
        let f: StoredFile
        if let opener = reader.pieceOpener {
            f = try opener(meta)
        } else {
            let path = reader.directory + "/" + meta.name
            guard FileSystem.exists(path) else {
                throw .missingFile(path: path, detail: "piece \(pieceIndex + 1) of \(reader.manifest.files.count) of backup \(reader.manifest.backupId)")
            }
            f = try StoredFile(path: path)
        }
        let path = f.path
        let stored = f.storedSize, size = f.size
        if stored < meta.bytes { throw .truncated(file: path, expected: meta.bytes, actual: stored) }
        if stored > meta.bytes { throw .corrupt(file: path, offset: meta.bytes, detail: "the piece is \(stored) bytes but the manifest records \(meta.bytes)") }
        guard size >= UInt64(BackupPieceFormat.headerSize + BackupPieceFormat.trailerSize) else {
            throw .truncated(file: path, expected: UInt64(BackupPieceFormat.headerSize + BackupPieceFormat.trailerSize), actual: size)
        }
        f.adviseSequential()
        file = f
        offset = 0
        end = size - UInt64(BackupPieceFormat.trailerSize)
        fileHash = StreamingHash()
        contentHash = StreamingHash()
        blocks = 0; pages = 0; pieceSum = 0
        try read(scratch, BackupPieceFormat.headerSize, chained: true)
        let h = try BackupPieceFormat.decodeHeader(scratch, file: path)
        guard h.dbid == reader.expectedDbid, h.backupSet == reader.manifest.backupId, h.piece == UInt32(pieceIndex + 1),
              Int(h.pageSize) == reader.manifest.pageSize else {
            throw .corrupt(file: path, offset: 0, detail: "the piece belongs elsewhere (DBID \(h.dbid), backup \(h.backupSet), piece \(h.piece), page size \(h.pageSize)); expected backup \(reader.manifest.backupId) piece \(pieceIndex + 1)")
        }
        return true
    }

    private func finishPiece() throws(EngineError) {
        let meta = reader.manifest.files[pieceIndex]
        let path = file!.path
        guard offset == end else { throw .corrupt(file: path, offset: offset, detail: "block data does not end where the trailer starts") }
        let content = contentHash.value
        try read(scratch, BackupPieceFormat.trailerSize)
        let t = try BackupPieceFormat.decodeTrailer(scratch, file: path, offset: end)
        guard t.contentHash == content, t.blocks == blocks, t.pages == pages, t.pageHashSum == pieceSum else {
            throw .corrupt(file: path, offset: end, detail: "the trailer does not match the piece's contents")
        }
        // An encrypted piece was authenticated block by block instead (its XXH3 is of the stored bytes).
        guard file!.isEncrypted || Hash.hex(fileHash.value) == meta.xxh3 else {
            throw .corrupt(file: path, offset: nil, detail: "piece checksum \(Hash.hex(fileHash.value)) differs from the manifest's \(meta.xxh3)")
        }
        guard pages == meta.pages else {
            throw .corrupt(file: path, offset: nil, detail: "the piece holds \(pages) pages but the manifest records \(meta.pages)")
        }
        file = nil
    }

    func next(into slot: PageBlockSlot) throws(EngineError) -> Bool {
        while file == nil || offset >= end {
            if try !openNextPiece() { return false }
        }
        let path = file!.path
        let at = offset
        try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
            var head = UnsafeMutableRawBufferPointer(start: b.encoded, count: BackupPieceFormat.blockHeaderSize).mutableBytes
            try read(into: &head, chained: true)
            let hdr = b.encoded
            guard LE.get32(hdr, 0) == BackupPieceFormat.blockMagic, Seal.isIntact(hdr, at: 24) else {
                throw EngineError.corrupt(file: path, offset: at, detail: "block header damaged")
            }
            let count = Int(LE.get32(hdr, 4))
            let payload = Int(LE.get32(hdr, 8))
            let flags = LE.get32(hdr, 12)
            guard count > 0, count <= b.capacityPages, flags <= 1,
                  payload <= (flags == 1 ? b.encodedCapacity - BackupPieceFormat.blockHeaderSize - count * BackupPieceFormat.entrySize : count * b.pageSize),
                  flags == 1 || payload == count * b.pageSize,
                  offset + UInt64(count * BackupPieceFormat.entrySize + payload) <= end else {
                throw EngineError.corrupt(file: path, offset: at, detail: "block header describes an impossible block (\(count) pages, \(payload) bytes)")
            }
            b.count = count
            b.payloadCount = payload
            b.flags = flags
            var entries = UnsafeMutableRawBufferPointer(start: b.entries, count: count * BackupPieceFormat.entrySize).mutableBytes
            try read(into: &entries)
            var stored = UnsafeMutableRawBufferPointer(start: b.payload, count: payload).mutableBytes
            try read(into: &stored)
            b.firstPage = LE.get32(b.entries, 0)
            b.sourceOffset = at
            b.sourcePath = path
            // Sum of the recorded page hashes; workers check every page against its entry.
            for i in 0..<count { pieceSum &+= LE.get64(b.entries, i * BackupPieceFormat.entrySize + 4) }
            blocks += 1
            pages += UInt64(count)
        }
        return true
    }

    func finish() throws(EngineError) {
        if file != nil { try finishPiece() }
        if pieceIndex + 1 < reader.manifest.files.count {
            _ = try openNextPiece()
            throw .corrupt(file: reader.directory, offset: nil, detail: "pieces after \(pieceIndex) were never reached")
        }
    }
}

/// Pages of an image copy, read in blocks; verified against the whole-file checksum and the
/// state checksum (the copy stores no per-page hashes of its own).
final class ImageCopySource: BlockSource {
    let reader: BackupReader
    let file: StoredFile
    let path: String
    var next: UInt32 = 1
    let hash = StreamingHash()

    init(_ reader: BackupReader) throws(EngineError) {
        self.reader = reader
        guard let meta = reader.manifest.files.first else {
            throw .corrupt(file: reader.directory + "/" + BackupManifest.fileName, offset: nil, detail: "image copy manifest lists no file")
        }
        path = reader.directory + "/" + meta.name
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "image copy of backup \(reader.manifest.backupId)") }
        file = try StoredFile(path: path)
        let size = file.storedSize
        if size < meta.bytes { throw .truncated(file: path, expected: meta.bytes, actual: size) }
        if size > meta.bytes { throw .corrupt(file: path, offset: meta.bytes, detail: "the copy is \(size) bytes but the manifest records \(meta.bytes)") }
        file.adviseSequential()
    }

    func next(into slot: PageBlockSlot) throws(EngineError) -> Bool {
        let total = reader.manifest.pageCount
        guard next <= total else { return false }
        try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
            b.setConsecutive(first: next, count: Int(min(UInt32(b.capacityPages), total - next + 1)))
            b.flags = 0
            b.sourcePath = path
            b.sourceOffset = UInt64(next - 1) * UInt64(b.pageSize)
            try file.readExactly(into: b.pages, count: b.rawBytes, at: b.sourceOffset)
            hash.update(b.pageBytes.bytes)
            next += UInt32(b.count)
        }
        return true
    }

    func finish() throws(EngineError) {
        let meta = reader.manifest.files[0]
        // An encrypted copy was authenticated block by block instead (its XXH3 is of the stored bytes).
        guard file.isEncrypted || Hash.hex(hash.value) == meta.xxh3 else {
            throw .corrupt(file: path, offset: nil, detail: "file checksum \(Hash.hex(hash.value)) differs from the manifest's \(meta.xxh3)")
        }
    }
}
