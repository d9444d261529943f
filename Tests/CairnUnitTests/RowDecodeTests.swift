import CairnFormats
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Rows decoded from raw pages equal what SQLite returns, whatever the page size, journal mode,
/// auto-vacuum, text encoding and reserved bytes; damaged pages throw a clear error.
@Suite struct RowDecodeTests {
    @Test func valuesRoundTripThroughJSONAndRenderAsSQL() throws {
        let values: [SQLiteValue] = [.null, .integer(-42), .real(1.5), .text("it's é"), .blob([0, 0xab, 0xff])]
        let json = String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
        #expect(json == #"[null,-42,1.5,"it's é",{"blob":"00abff"}]"#)
        #expect(try JSONDecoder().decode([SQLiteValue].self, from: Data(json.utf8)) == values)
        #expect(values.map(\.sqlLiteral) == ["NULL", "-42", "1.5", "'it''s é'", "X'00abff'"])
        #expect(SQLiteValue.real(3).sqlLiteral == "3.0")
        #expect(SQLiteValue.null < .integer(0) && SQLiteValue.integer(5) < .real(5.5) && SQLiteValue.real(9) < .text("") && SQLiteValue.text("z") < .blob([]))
    }

    @Test func recordsOfEverySerialTypeDecode() throws {
        // header: size, then NULL, int8, int16, int24, int32, int48, int64, float, 0, 1, blob(2), text(3)
        let types: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19]
        var record: [UInt8] = [UInt8(types.count + 1)] + types
        record += [0xff]  // -1
        record += [0x01, 0x00]  // 256
        record += [0x80, 0x00, 0x00]  // -8388608
        record += [0x7f, 0xff, 0xff, 0xff]
        record += [0x01, 0x00, 0x00, 0x00, 0x00, 0x00]  // 2^40
        record += [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]  // -2
        record += withUnsafeBytes(of: (2.5).bitPattern.bigEndian) { Array($0) }
        record += [0xde, 0xad] + Array("abc".utf8)
        let values = try record.withUnsafeBytes { try RecordDecoder.decode($0, encoding: .utf8) }
        #expect(values == [.null, .integer(-1), .integer(256), .integer(-8_388_608), .integer(Int64(Int32.max)), .integer(1 << 40), .integer(-2),
                           .real(2.5), .integer(0), .integer(1), .blob([0xde, 0xad]), .text("abc")])
        let utf16: [UInt8] = [2, 17, 0x00, 0x3b, 0x00]  // text(2 bytes) in UTF-16be: ";"
        #expect(try utf16.withUnsafeBytes { try RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: $0[0..<4]), encoding: .utf16be) } == [.text(";")])
        let cut: [UInt8] = [2, 6, 0, 0]  // an int64 with 2 bytes of body
        #expect(throws: RecordDecoder.Malformed.self) { try cut.withUnsafeBytes { try RecordDecoder.decode($0, encoding: .utf8) } }
    }

    @Test(arguments: TimeTravelFixture.configs)
    func everyTableReadsAsSQLiteReturnsIt(_ config: TimeTravelFixture.Config) throws {
        let dir = TempDir()
        let db = TimeTravelFixture.build(config, in: dir)
        let source = try TimeTravelFixture.source(db)
        #expect(source.pageSize == config.pageSize && source.usable == config.pageSize - config.reserved)
        #expect(source.encoding == ["UTF-8": .utf8, "UTF-16le": .utf16le, "UTF-16be": .utf16be][config.encoding])
        #expect(source.autovacuum == (config.autoVacuum != "NONE"))
        let schema = try SchemaReader.read(source)
        #expect(schema.unreadable.isEmpty)
        #expect(schema.tables.map(\.name) == ["altered", "gen", "odd \"name\"", "plain", "wr"])
        let plain = try #require(schema.table(named: "plain"))
        #expect(plain.rowidAlias == 0 && !plain.withoutRowid && plain.primaryKey == ["id"])
        let wr = try #require(schema.table(named: "wr"))
        #expect(wr.withoutRowid && wr.primaryKey == ["code", "region"] && wr.columns == ["region", "code", "label", "payload"] && wr.storage == [1, 0, 2, 3])
        #expect(schema.table(named: "gen")?.columns == ["a", "b", "d"])
        let altered = try #require(schema.table(named: "altered"))
        #expect(altered.defaults == [.null, .null, .text("zz"), .integer(-7)])
        let odd = try #require(schema.table(named: "odd \"name\""))
        #expect(odd.rowidAlias == nil && odd.primaryKey.isEmpty)
        #expect(schema.entries.contains { $0.type == "index" && $0.name == "plain_name" && $0.rootPage > 0 })
        for layout in schema.tables {
            let rows = try TableRows(source: source, layout: layout).all()
            let expected = try TimeTravelFixture.expectedRows(db, layout)
            #expect(rows.count == expected.count, "\(layout.name)")
            for row in rows where expected[row.key] != row.values {
                Issue.record("\(layout.name) \(row.key): decoded \(row.values), SQLite has \(String(describing: expected[row.key]))")
            }
        }
    }

    @Test func ownersOfPagesAreFoundThroughInteriorPagesOnly() throws {
        let dir = TempDir()
        let db = TimeTravelFixture.build(TimeTravelFixture.Config(pageSize: 512, wal: false), in: dir)
        var reads = 0
        let file = try OpenFile(db)
        let source = try DatabasePages(name: db, pageSize: 512, pageCount: file.pageCount) { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            reads += 1
            try file.read(pgno, into)
        }
        let schema = try SchemaReader.read(source)
        let plain = try #require(schema.table(named: "plain"))
        let leaves = try TimeTravelFixture.query(db, "SELECT pageno FROM dbstat WHERE name = 'plain' AND pagetype = 'leaf'")
        reads = 0
        let trees = schema.entries.filter { $0.rootPage > 0 }.map { (name: "\($0.type) \($0.name)", root: $0.rootPage) }
        let map = try TreeOwners.map(source, trees: trees)
        #expect(reads < Int(source.pageCount) / 4, "\(reads) reads for \(source.pageCount) pages")
        for case let .integer(p) in leaves.map({ $0[0] }) {
            #expect(map.owner(of: UInt32(p))?.name == "table plain" && map.owner(of: UInt32(p))?.leaf == true)
        }
        #expect(map.owner(of: plain.rootPage)?.leaf == false)
    }
}
