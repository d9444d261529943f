@testable import CairnFormats
import Foundation
import Testing

/// The on-disk formats as pure encode/decode functions: round trips, and every damage detected.
@Suite struct FormatTests {
    @Test func pageMapRoundTripsAndDetectsDamage() throws {
        var map = PageMap(pageSize: 4096, trackedSince: 0)
        map.resize(100, scn: 1)
        for pgno in stride(from: UInt32(1), through: 100, by: 7) { map.set(pgno, hash: UInt64(pgno) &* 0x9E37_79B9_7F4A_7C15, scn: UInt64(pgno)) }
        let bytes = map.encoded(scn: 42, incarnation: 3)
        let back = try PageMap.decode(bytes, file: "map")
        #expect(back.scn == 42 && back.incarnation == 3)
        #expect(back.map.state == map.state)
        #expect(back.map.pageCount == 100)
        #expect(back.map.changed(after: 50).sorted == map.changed(after: 50).sorted)
        for i in [0, bytes.count / 2, bytes.count - 1] {
            var bad = bytes
            bad[i] ^= 0x40
            #expect(throws: EngineError.self) { _ = try PageMap.decode(bad, file: "map") }
        }
        #expect(throws: EngineError.self) { _ = try PageMap.decode(Array(bytes.prefix(bytes.count - 9)), file: "map") }
    }

    @Test func pieceHeaderAndTrailerRoundTripAndRejectDamage() throws {
        let h = BackupPieceFormat.Header(version: 1, release: 3, dbid: 0xDEAD_BEEF_0123, backupSet: 7, piece: 2, pageSize: 4096, compression: 1)
        var buf = [UInt8](repeating: 0, count: BackupPieceFormat.headerSize)
        buf.withUnsafeMutableBytes { BackupPieceFormat.encodeHeader(h, into: $0.baseAddress!) }
        let back = try buf.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws(EngineError) -> BackupPieceFormat.Header in
            try BackupPieceFormat.decodeHeader(p.baseAddress!, file: "piece")
        }
        #expect(back.dbid == h.dbid && back.backupSet == 7 && back.piece == 2 && back.pageSize == 4096)
        for i in [0, 9, 20] {
            var bad = buf
            bad[i] ^= 1
            #expect(throws: EngineError.self) {
                _ = try bad.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws(EngineError) -> BackupPieceFormat.Header in
                    try BackupPieceFormat.decodeHeader(p.baseAddress!, file: "piece")
                }
            }
        }
        let t = BackupPieceFormat.Trailer(blocks: 5, pages: 300, pageHashSum: 99, contentHash: 1234)
        var tb = [UInt8](repeating: 0, count: BackupPieceFormat.trailerSize)
        tb.withUnsafeMutableBytes { BackupPieceFormat.encodeTrailer(t, into: $0.baseAddress!) }
        let tback = try tb.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws(EngineError) -> BackupPieceFormat.Trailer in
            try BackupPieceFormat.decodeTrailer(p.baseAddress!, file: "piece", offset: 0)
        }
        #expect(tback.blocks == 5 && tback.pages == 300 && tback.pageHashSum == 99 && tback.contentHash == 1234)
    }

    @Test func logKeysOrderByIncarnationThenSequence() {
        let keys = [LogKey(incarnation: 2, sequence: 1), LogKey(incarnation: 1, sequence: 9), LogKey(incarnation: 1, sequence: 2)]
        #expect(keys.sorted() == [LogKey(incarnation: 1, sequence: 2), LogKey(incarnation: 1, sequence: 9), LogKey(incarnation: 2, sequence: 1)])
    }
}
