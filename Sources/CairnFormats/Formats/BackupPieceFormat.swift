/// Binary layout of a backup piece (`piece-NNNN.cbp`). All integers little-endian.
///
///     header  64 bytes  "CAIRNPCE", version u32, release u32, dbid u64, backup set u64,
///                       piece number u32, page size u32, compression u32, 0 u32, 0 u64,
///                       xxh3 of bytes 0..<56
///     block*            header 32 bytes: "BLK1", page count u32, payload length u32,
///                       flags u32 (0 stored, 1 zstd), xxh3 of entries+payload u64,
///                       xxh3 of bytes 0..<24 u64
///                       entries: page count × (page number u32, page hash u64)
///                       payload: the pages in entry order, zstd-compressed or stored
///     trailer 48 bytes  "CAIRNEND", blocks u64, pages u64, sum of page hashes u64,
///                       xxh3 of the piece header followed by every block header (each of
///                       which carries its block's checksum) u64, xxh3 of bytes 0..<40
///
/// Each block decodes on its own, so a reader can seek to any block.
package enum BackupPieceFormat {
    package static let headerMagic: [UInt8] = Array("CAIRNPCE".utf8)
    package static let trailerMagic: [UInt8] = Array("CAIRNEND".utf8)
    package static let blockMagic: UInt32 = 0x314B_4C42 // "BLK1"
    package static let headerSize = 64
    package static let blockHeaderSize = 32
    package static let entrySize = 12
    package static let trailerSize = 48

    package enum Compression: UInt32, Sendable { case none = 0, zstd = 1 }

    package struct Header: Sendable, Equatable {
        package var version: UInt32
        package var release: UInt32
        package var dbid: UInt64
        package var backupSet: UInt64
        package var piece: UInt32
        package var pageSize: UInt32
        package var compression: UInt32

        package init(version: UInt32, release: UInt32, dbid: UInt64, backupSet: UInt64, piece: UInt32, pageSize: UInt32, compression: UInt32) {
            self.version = version
            self.release = release
            self.dbid = dbid
            self.backupSet = backupSet
            self.piece = piece
            self.pageSize = pageSize
            self.compression = compression
        }
    }

    package struct Trailer: Sendable, Equatable {
        package var blocks: UInt64
        package var pages: UInt64
        package var pageHashSum: UInt64
        package var contentHash: UInt64

        package init(blocks: UInt64, pages: UInt64, pageHashSum: UInt64, contentHash: UInt64) {
            self.blocks = blocks
            self.pages = pages
            self.pageHashSum = pageHashSum
            self.contentHash = contentHash
        }
    }

    package static func encodeHeader(_ h: Header, into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
        Seal.putMagic(headerMagic, p)
        LE.put32(h.version, p, 8)
        LE.put32(h.release, p, 12)
        LE.put64(h.dbid, p, 16)
        LE.put64(h.backupSet, p, 24)
        LE.put32(h.piece, p, 32)
        LE.put32(h.pageSize, p, 36)
        LE.put32(h.compression, p, 40)
        Seal.close(p, at: 56)
    }

    package static func decodeHeader(_ p: UnsafeRawPointer, file: String) throws(EngineError) -> Header {
        guard Seal.hasMagic(headerMagic, p) else {
            throw .corrupt(file: file, offset: 0, detail: "not a Cairn backup piece (bad magic)")
        }
        guard Seal.isIntact(p, at: 56) else {
            throw .corrupt(file: file, offset: 0, detail: "piece header checksum mismatch")
        }
        let h = Header(version: LE.get32(p, 8), release: LE.get32(p, 12), dbid: LE.get64(p, 16), backupSet: LE.get64(p, 24),
                       piece: LE.get32(p, 32), pageSize: LE.get32(p, 36), compression: LE.get32(p, 40))
        if h.version > FormatVersion.backupPiece || h.version == 0 {
            throw .unsupportedFormat(file: file, found: Int(h.version), supported: Int(FormatVersion.backupPiece))
        }
        return h
    }

    package static func encodeBlockHeader(pages: UInt32, payload: UInt32, flags: UInt32, bodyHash: UInt64, into p: UnsafeMutableRawPointer) {
        LE.put32(blockMagic, p, 0)
        LE.put32(pages, p, 4)
        LE.put32(payload, p, 8)
        LE.put32(flags, p, 12)
        LE.put64(bodyHash, p, 16)
        Seal.close(p, at: 24)
    }

    package static func encodeTrailer(_ t: Trailer, into p: UnsafeMutableRawPointer) {
        Seal.putMagic(trailerMagic, p)
        LE.put64(t.blocks, p, 8)
        LE.put64(t.pages, p, 16)
        LE.put64(t.pageHashSum, p, 24)
        LE.put64(t.contentHash, p, 32)
        Seal.close(p, at: 40)
    }

    package static func decodeTrailer(_ p: UnsafeRawPointer, file: String, offset: UInt64) throws(EngineError) -> Trailer {
        guard Seal.hasMagic(trailerMagic, p) else {
            throw .corrupt(file: file, offset: offset, detail: "piece trailer missing (the piece may be truncated)")
        }
        guard Seal.isIntact(p, at: 40) else {
            throw .corrupt(file: file, offset: offset, detail: "piece trailer checksum mismatch")
        }
        return Trailer(blocks: LE.get64(p, 8), pages: LE.get64(p, 16), pageHashSum: LE.get64(p, 24), contentHash: LE.get64(p, 32))
    }
}
