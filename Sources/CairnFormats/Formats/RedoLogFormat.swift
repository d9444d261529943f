/// Binary layout of a redo log (an online log member or an archived log). Little-endian.
///
///     header  64 bytes  "CAIRNLOG", version u32, release u32, dbid u64, incarnation u32,
///                       page size u32, sequence u64, first SCN u64, created µs u64,
///                       xxh3 of bytes 0..<56
///             + 64 bytes in an encrypted log (version 3, see `RedoLogEncryption`)
///     record*           header (72 bytes, 80 for a compact transaction) + body (see `RedoRecord`)
///     trailer 64 bytes  "END1", 0 u32, records u64, high SCN u64, high time µs u64,
///                       bytes before the trailer u64, XXH3 of the header followed by every
///                       record's checksum u64, 0 u64,
///                       xxh3 of bytes 0..<56        (only in closed logs)
///
/// A record is a committed transaction or a gap ("GAP1": an SCN whose changes were not
/// captured; recovery never crosses it). Version 2 logs store a transaction as "TXN2": each
/// page as a change against its previous version in the same log, compressed (see
/// `PageChangeFormat`); version 1 logs stored whole page images ("TXN1"), which are still read.
/// Every record carries the database state checksum after it, so recovery verifies each
/// transaction boundary. Version 3 is version 2 encrypted: the bodies of its transactions are
/// sealed (see `RedoLogEncryption`); logs of a repository without encryption stay version 2.
package enum RedoLogFormat {
    package static let magic: [UInt8] = Array("CAIRNLOG".utf8)
    /// The version of the logs written without encryption.
    package static let version: UInt32 = 2
    /// The version of encrypted logs (the highest one read).
    package static let encryptedVersion: UInt32 = 3
    /// The fixed part of every header (an encrypted log's header is longer: `Header.size`).
    package static let headerSize = 64
    /// The most header bytes a log has.
    package static let maxHeaderSize = headerSize + RedoLogEncryption.size
    /// The header of a gap or a version 1 transaction record.
    package static let recordHeaderSize = 72
    /// The header of a compact transaction record (adds the body's length).
    package static let compactRecordHeaderSize = 80
    /// The most header bytes any record has.
    package static let maxRecordHeaderSize = 80
    package static let trailerSize = 64
    package static let txnMagic: UInt32 = 0x314E_5854 // "TXN1"
    package static let compactTxnMagic: UInt32 = 0x324E_5854 // "TXN2"
    package static let gapMagic: UInt32 = 0x3150_4147 // "GAP1"
    package static let endMagic: UInt32 = 0x3144_4E45 // "END1"

    package struct Header: Sendable, Equatable {
        /// The format version the log was written in (new logs: `RedoLogFormat.version`).
        package var version: UInt32 = RedoLogFormat.version
        package var dbid: UInt64
        package var incarnation: UInt32
        package var pageSize: UInt32
        package var sequence: UInt64
        package var firstScn: UInt64
        package var createdMicros: UInt64
        /// The key and salt of an encrypted log (version 3), nil for a plain one.
        package var encryption: RedoLogEncryption?

        /// The header's length, where the first record starts.
        package var size: Int { encryption == nil ? headerSize : maxHeaderSize }

        package init(dbid: UInt64, incarnation: UInt32, pageSize: UInt32, sequence: UInt64, firstScn: UInt64, createdMicros: UInt64) {
            self.dbid = dbid
            self.incarnation = incarnation
            self.pageSize = pageSize
            self.sequence = sequence
            self.firstScn = firstScn
            self.createdMicros = createdMicros
        }
    }

    package struct Trailer: Sendable, Equatable {
        package var records: UInt64
        package var highScn: UInt64
        package var highTimeMicros: UInt64
        package var contentBytes: UInt64
        package var contentHash: UInt64

        package init(records: UInt64, highScn: UInt64, highTimeMicros: UInt64, contentBytes: UInt64, contentHash: UInt64) {
            self.records = records
            self.highScn = highScn
            self.highTimeMicros = highTimeMicros
            self.contentBytes = contentBytes
            self.contentHash = contentHash
        }
    }

    /// Encodes the header (`h.size` bytes); an encrypted one is version 3 whatever `h.version` says.
    package static func encodeHeader(_ h: Header, into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
        Seal.putMagic(magic, p)
        LE.put32(h.encryption == nil ? h.version : encryptedVersion, p, 8)
        LE.put32(FormatVersion.releaseCode, p, 12)
        LE.put64(h.dbid, p, 16)
        LE.put32(h.incarnation, p, 24)
        LE.put32(h.pageSize, p, 28)
        LE.put64(h.sequence, p, 32)
        LE.put64(h.firstScn, p, 40)
        LE.put64(h.createdMicros, p, 48)
        Seal.close(p, at: 56)
        h.encryption?.encode(into: p + headerSize)
    }

    /// Decodes a header: `p` holds its first `available` bytes (`maxHeaderSize` are enough).
    package static func decodeHeader(_ p: UnsafeRawPointer, available: Int = maxHeaderSize, file: String) throws(EngineError) -> Header {
        guard Seal.hasMagic(magic, p) else {
            throw .corrupt(file: file, offset: 0, detail: "not a Cairn redo log (bad magic)")
        }
        guard Seal.isIntact(p, at: 56) else { throw .corrupt(file: file, offset: 0, detail: "redo log header checksum mismatch") }
        let v = LE.get32(p, 8)
        guard v >= 1 && v <= encryptedVersion else { throw .unsupportedFormat(file: file, found: Int(v), supported: Int(encryptedVersion)) }
        var h = Header(dbid: LE.get64(p, 16), incarnation: LE.get32(p, 24), pageSize: LE.get32(p, 28),
                       sequence: LE.get64(p, 32), firstScn: LE.get64(p, 40), createdMicros: LE.get64(p, 48))
        h.version = v
        if v == encryptedVersion {
            guard available >= maxHeaderSize else { throw .truncated(file: file, expected: UInt64(maxHeaderSize), actual: UInt64(available)) }
            h.encryption = try RedoLogEncryption.decode(p + headerSize, file: file)
        }
        return h
    }

    package static func encodeTrailer(_ t: Trailer, into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: trailerSize)
        LE.put32(endMagic, p, 0)
        LE.put64(t.records, p, 8)
        LE.put64(t.highScn, p, 16)
        LE.put64(t.highTimeMicros, p, 24)
        LE.put64(t.contentBytes, p, 32)
        LE.put64(t.contentHash, p, 40)
        Seal.close(p, at: 56)
    }

    package static func decodeTrailer(_ p: UnsafeRawPointer) -> Trailer? {
        guard LE.get32(p, 0) == endMagic, Seal.isIntact(p, at: 56) else { return nil }
        return Trailer(records: LE.get64(p, 8), highScn: LE.get64(p, 16), highTimeMicros: LE.get64(p, 24),
                       contentBytes: LE.get64(p, 32), contentHash: LE.get64(p, 40))
    }
}

/// Where a record's transaction ended in the WAL, so capture can resume after it.
package struct WALPosition: Codable, Sendable, Equatable {
    package var salt1: UInt32
    package var salt2: UInt32
    /// Index of the commit frame (0: before the first frame of this WAL generation).
    package var frame: UInt32
    /// Cumulative WAL checksum after that frame, to continue the chain.
    package var checksum1: UInt32
    package var checksum2: UInt32

    package init(salt1: UInt32, salt2: UInt32, frame: UInt32, checksum1: UInt32, checksum2: UInt32) {
        self.salt1 = salt1; self.salt2 = salt2; self.frame = frame; self.checksum1 = checksum1; self.checksum2 = checksum2
    }
}

/// One record of a redo log: its header fields. The body of a whole-image transaction
/// ("TXN1") is `pageCount` page numbers (u32, padded to 8 bytes) then `pageCount` pages; that of
/// a compact one ("TXN2") is `bodyBytes` of page-change chunks (see `PageChangeFormat`).
///
///     0  magic u32, pages u32, SCN u64, commit µs u64, database pages u32, flags u32,
///    32  state checksum u64, WAL position (salt1, salt2, frame, checksum1, checksum2) u32 × 5,
///    60  0 u32,
///    64  TXN2 only: body bytes u64,
///    64 or 72  checksum u64: XXH3 of the bytes before it, seeded with the body's XXH3
package struct RedoRecord: Sendable, Equatable {
    package enum Kind: Sendable { case transaction, gap }
    package var kind: Kind
    /// A transaction stored as page changes ("TXN2") rather than whole images ("TXN1").
    package var compact = false
    /// The body's length (compact transactions; the others derive it from `pageCount`).
    package var bodyBytes: UInt64 = 0
    package var pageCount: UInt32
    package var scn: UInt64
    package var commitMicros: UInt64
    package var databasePages: UInt32
    /// bit 0: the commit time is exact (in-process WAL hook); otherwise observed.
    package var flags: UInt32
    package var stateChecksum: UInt64
    package var position: WALPosition

    package var exactTime: Bool { flags & 1 == 1 }

    package static func bodySize(pages: Int, pageSize: Int) -> Int {
        pageNumbersSize(pages) + pages * pageSize
    }

    /// The length of this record's header.
    package var headerSize: Int { compact ? RedoLogFormat.compactRecordHeaderSize : RedoLogFormat.recordHeaderSize }

    /// The length of this record's body.
    package func bodySize(pageSize: Int) -> UInt64 {
        switch (kind, compact) {
        case (.gap, _): 0
        case (.transaction, true): bodyBytes
        case (.transaction, false): UInt64(Self.bodySize(pages: Int(pageCount), pageSize: pageSize))
        }
    }

    package static func pageNumbersSize(_ pages: Int) -> Int { (pages * 4 + 7) & ~7 }

    /// Encodes the header (`headerSize` bytes); the checksum (its last 8 bytes) covers the
    /// header and the body, whose XXH3 (`bodyHash`) is computed while the body is streamed out.
    package func encodeHeader(into p: UnsafeMutableRawPointer, bodyHash: UInt64) {
        let magic = kind == .gap ? RedoLogFormat.gapMagic : compact ? RedoLogFormat.compactTxnMagic : RedoLogFormat.txnMagic
        LE.put32(magic, p, 0)
        LE.put32(pageCount, p, 4)
        LE.put64(scn, p, 8)
        LE.put64(commitMicros, p, 16)
        LE.put32(databasePages, p, 24)
        LE.put32(flags, p, 28)
        LE.put64(stateChecksum, p, 32)
        LE.put32(position.salt1, p, 40)
        LE.put32(position.salt2, p, 44)
        LE.put32(position.frame, p, 48)
        LE.put32(position.checksum1, p, 52)
        LE.put32(position.checksum2, p, 56)
        LE.put32(0, p, 60)
        if compact { LE.put64(bodyBytes, p, 64) }
        LE.put64(Self.checksum(header: p, size: headerSize, bodyHash: bodyHash), p, headerSize - 8)
    }

    /// XXH3 of the header bytes before the checksum, seeded with the body's XXH3.
    package static func checksum(header p: UnsafeRawPointer, size: Int, bodyHash: UInt64) -> UInt64 {
        Hash.xxh3(p, size - 8, seed: bodyHash)
    }

    /// The checksum stored in a header of `size` bytes (which the log's content hash chains).
    package static func storedChecksum(header p: UnsafeRawPointer, size: Int) -> UInt64 { LE.get64(p, size - 8) }

    /// Decodes a record header; nil when the bytes are not a record (end of a torn tail).
    package static func decodeHeader(_ p: UnsafeRawPointer) -> RedoRecord? {
        let m = LE.get32(p, 0)
        guard m == RedoLogFormat.txnMagic || m == RedoLogFormat.compactTxnMagic || m == RedoLogFormat.gapMagic else { return nil }
        var r = RedoRecord(kind: m == RedoLogFormat.gapMagic ? .gap : .transaction, pageCount: LE.get32(p, 4),
                           scn: LE.get64(p, 8), commitMicros: LE.get64(p, 16), databasePages: LE.get32(p, 24),
                           flags: LE.get32(p, 28), stateChecksum: LE.get64(p, 32),
                           position: WALPosition(salt1: LE.get32(p, 40), salt2: LE.get32(p, 44), frame: LE.get32(p, 48),
                                                 checksum1: LE.get32(p, 52), checksum2: LE.get32(p, 56)))
        if m == RedoLogFormat.compactTxnMagic {
            r.compact = true
            r.bodyBytes = LE.get64(p, 64)
        }
        return r
    }

    package init(kind: Kind, pageCount: UInt32, scn: UInt64, commitMicros: UInt64, databasePages: UInt32, flags: UInt32, stateChecksum: UInt64, position: WALPosition,
                 compact: Bool = false, bodyBytes: UInt64 = 0) {
        self.kind = kind
        self.compact = compact
        self.bodyBytes = bodyBytes
        self.pageCount = pageCount
        self.scn = scn
        self.commitMicros = commitMicros
        self.databasePages = databasePages
        self.flags = flags
        self.stateChecksum = stateChecksum
        self.position = position
    }
}
