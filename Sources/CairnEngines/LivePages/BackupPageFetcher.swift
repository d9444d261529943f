import Foundation
import CairnFormats
import CairnCatalog

/// Reads chosen pages of one backup without reading the rest of it: the block headers and
/// page entries of its pieces are walked (a few bytes a block) and only the blocks holding a
/// wanted page are read, checked (block checksum, every page's hash) and decompressed. Pages
/// of an image copy are read where they are (the rebuilt page is checked against the page
/// map in the end). A fetcher kept for many fetches reuses its block buffers and keeps its
/// pieces open (one thread at a time).
final class BackupPageFetcher {
    let reader: BackupReader
    private var buffers: BlockBuffers?
    private var opened: [Int: (file: StoredFile, header: BackupPieceFormat.Header)] = [:]

    init(reader: BackupReader) { self.reader = reader }

    /// Copies the wanted pages the backup holds into `images`; returns those it held.
    func fetch(_ wanted: Set<UInt32>, into images: PageImages) throws(EngineError) -> Set<UInt32> {
        let m = reader.manifest
        guard UInt64(m.dbid) == reader.expectedDbid else {
            throw .dbidMismatch(database: m.databaseName, expected: UInt64(m.dbid) ?? 0, found: reader.expectedDbid,
                                file: reader.directory + "/" + BackupManifest.fileName)
        }
        guard m.pageSize == images.pageSize else {
            throw .corrupt(file: reader.directory, offset: nil, detail: "backup \(m.backupId) has \(m.pageSize)-byte pages, the database \(images.pageSize)-byte pages")
        }
        if m.kind == .imageCopy { return try fetchFromImage(wanted, into: images) }
        var found = Set<UInt32>()
        for (i, piece) in m.files.enumerated() where wanted.contains(where: { $0 >= piece.firstPage && $0 <= piece.lastPage }) {
            try fetch(wanted, piece: i, into: images, found: &found)
        }
        return found
    }

    private func fetchFromImage(_ wanted: Set<UInt32>, into images: PageImages) throws(EngineError) -> Set<UInt32> {
        guard let meta = reader.manifest.files.first else {
            throw .corrupt(file: reader.directory + "/" + BackupManifest.fileName, offset: nil, detail: "image copy manifest lists no file")
        }
        let file = try StoredFile(path: reader.directory + "/" + meta.name)
        var found = Set<UInt32>()
        for pgno in wanted where pgno <= reader.manifest.pageCount {
            try file.readExactly(into: images.buffer(pgno), count: images.pageSize, at: UInt64(pgno - 1) * UInt64(images.pageSize))
            found.insert(pgno)
        }
        return found
    }

    /// Walks the blocks of piece `index`, reading the ones that hold wanted pages.
    private func fetch(_ wanted: Set<UInt32>, piece index: Int, into images: PageImages, found: inout Set<UInt32>) throws(EngineError) {
        let m = reader.manifest
        let path = reader.directory + "/" + m.files[index].name
        let file = try piece(index, path: path)
        let size = file.size
        let block = buffers ?? BlockBuffers(pageSize: m.pageSize, pages: m.blockPages)
        buffers = block
        let end = size >= UInt64(BackupPieceFormat.trailerSize) ? size - UInt64(BackupPieceFormat.trailerSize) : 0
        // With the piece's block index, only the blocks that may hold a wanted page are read;
        // without one (older pieces), every block header is walked.
        if let blocks = m.files[index].blockIndex.flatMap(BlockIndex.init) {
            let starts = Set(wanted.compactMap { blocks.block(holding: $0)?.offset })
            for offset in starts.sorted() where offset < end {
                _ = try readBlock(at: offset, of: file, end: end, path: path, wanted: wanted, block: block, into: images, found: &found)
            }
            return
        }
        var offset = UInt64(BackupPieceFormat.headerSize)
        while offset < end {
            offset = try readBlock(at: offset, of: file, end: end, path: path, wanted: wanted, block: block, into: images, found: &found)
        }
    }

    /// Piece `index`, opened and its header checked once.
    private func piece(_ index: Int, path: String) throws(EngineError) -> StoredFile {
        if let o = opened[index] { return o.file }
        let m = reader.manifest
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "piece \(index + 1) of backup \(m.backupId)") }
        let file = try StoredFile(path: path)
        let head = UnsafeMutableRawPointer.allocate(byteCount: BackupPieceFormat.headerSize, alignment: 8)
        defer { head.deallocate() }
        try file.readExactly(into: head, count: BackupPieceFormat.headerSize, at: 0)
        let h = try BackupPieceFormat.decodeHeader(head, file: path)
        guard h.dbid == reader.expectedDbid, h.backupSet == m.backupId, h.piece == UInt32(index + 1) else {
            throw .corrupt(file: path, offset: 0, detail: "the piece belongs elsewhere (backup \(h.backupSet), piece \(h.piece)); expected backup \(m.backupId) piece \(index + 1)")
        }
        if opened.count >= 16 { opened.removeAll() }
        opened[index] = (file, h)
        return file
    }

    /// Reads the block at `offset` (its header and entries; its pages only when it holds a
    /// wanted one) and returns where the next block starts.
    private func readBlock(at offset: UInt64, of file: StoredFile, end: UInt64, path: String, wanted: Set<UInt32>,
                           block: BlockBuffers, into images: PageImages, found: inout Set<UInt32>) throws(EngineError) -> UInt64 {
        let (count, payload, flags) = try block.readHeader(file, at: offset, end: end, path: path)
        let entriesAt = offset + UInt64(BackupPieceFormat.blockHeaderSize)
        try file.readExactly(into: block.entries, count: count * BackupPieceFormat.entrySize, at: entriesAt)
        let pgnos = (0..<count).map { LE.get32(block.entries, $0 * BackupPieceFormat.entrySize) }
        if let last = pgnos.lastIndex(where: wanted.contains) {
            try file.readExactly(into: block.payload, count: payload, at: entriesAt + UInt64(count * BackupPieceFormat.entrySize))
            try block.decode(count: count, payload: payload, flags: flags, path: path, at: offset, pages: last + 1)
            for (i, pgno) in pgnos.enumerated() where wanted.contains(pgno) {
                images.set(pgno, from: block.pages + i * reader.manifest.pageSize)
                found.insert(pgno)
            }
        }
        return entriesAt + UInt64(count * BackupPieceFormat.entrySize + payload)
    }
}

/// The buffers of one block of a backup piece, and its checks.
private final class BlockBuffers {
    let pageSize: Int
    let capacity: Int
    let header = UnsafeMutableRawPointer.allocate(byteCount: BackupPieceFormat.blockHeaderSize, alignment: 8)
    let entries: UnsafeMutableRawPointer
    let payload: UnsafeMutableRawPointer
    let pages: UnsafeMutableRawPointer
    let decompressor = Decompressor()

    init(pageSize: Int, pages count: Int) {
        self.pageSize = pageSize
        capacity = count
        entries = .allocate(byteCount: count * BackupPieceFormat.entrySize, alignment: 8)
        // A compressed payload is never larger than the pages it holds plus zstd's bound.
        payload = .allocate(byteCount: count * pageSize + 65_536, alignment: 64)
        pages = .allocate(byteCount: count * pageSize, alignment: 4096)
    }

    deinit {
        header.deallocate()
        entries.deallocate()
        payload.deallocate()
        pages.deallocate()
    }

    /// Reads and checks the block header at `offset`: page count, payload length and flags.
    func readHeader(_ file: StoredFile, at offset: UInt64, end: UInt64, path: String) throws(EngineError) -> (Int, Int, UInt32) {
        try file.readExactly(into: header, count: BackupPieceFormat.blockHeaderSize, at: offset)
        guard LE.get32(header, 0) == BackupPieceFormat.blockMagic, Seal.isIntact(header, at: 24) else {
            throw .corrupt(file: path, offset: offset, detail: "block header damaged")
        }
        let count = Int(LE.get32(header, 4)), payload = Int(LE.get32(header, 8)), flags = LE.get32(header, 12)
        guard count > 0, count <= capacity, flags <= 1, payload <= capacity * pageSize + 65_536,
              flags == 1 || payload == count * pageSize,
              offset + UInt64(BackupPieceFormat.blockHeaderSize + count * BackupPieceFormat.entrySize + payload) <= end else {
            throw .corrupt(file: path, offset: offset, detail: "block header describes an impossible block (\(count) pages, \(payload) bytes)")
        }
        return (count, payload, flags)
    }

    /// Checks the block's checksum, decompresses its first `wanted` pages (all by default:
    /// a compressed block is decoded no further than the last page wanted) and checks their
    /// hashes.
    func decode(count: Int, payload: Int, flags: UInt32, path: String, at offset: UInt64, pages wanted: Int? = nil) throws(EngineError) {
        let entriesCount = count * BackupPieceFormat.entrySize
        guard Hash.xxh3(self.payload, payload, seed: Hash.xxh3(entries, entriesCount)) == LE.get64(header, 16) else {
            throw .corrupt(file: path, offset: offset, detail: "block checksum mismatch")
        }
        let decoded = min(count, wanted ?? count)
        if flags == 1 {
            let src = UnsafeRawBufferPointer(start: self.payload, count: payload).bytes
            var out = UnsafeMutableRawBufferPointer(start: pages, count: decoded * pageSize).mutableBytes
            let ok = decoded == count ? decompressor.decompress(src, into: &out) : decompressor.decompressPrefix(src, into: &out)
            guard ok else { throw .corrupt(file: path, offset: offset, detail: "compressed block does not decode") }
        } else {
            pages.copyMemory(from: self.payload, byteCount: decoded * pageSize)
        }
        for i in 0..<decoded {
            let pgno = LE.get32(entries, i * BackupPieceFormat.entrySize)
            guard Hash.page(pages + i * pageSize, size: pageSize, pgno: pgno) == LE.get64(entries, i * BackupPieceFormat.entrySize + 4) else {
                throw .corrupt(file: path, offset: offset, detail: "page \(pgno) checksum mismatch")
            }
        }
    }
}
