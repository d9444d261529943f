import CairnFormats
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Damaged pages make row decoding throw `EngineError.corrupt` naming what is wrong: never a
/// crash, a hang or wrong rows.
@Suite struct CorruptPageDecodeTests {
    /// A 512-byte-page database whose table `t` (root page 2, a leaf) holds one 5,000-byte blob.
    static func database(_ dir: TempDir) throws -> (bytes: [UInt8], layout: TableLayout) {
        let db = dir.file("c.db")
        TimeTravelFixture.run(db, "PRAGMA page_size=512; PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, zeroblob(5000));")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: db)))
        let layout = try #require(try SchemaReader.read(try TimeTravelFixture.source(bytes: bytes, pageSize: 512)).table(named: "t"))
        #expect(layout.rootPage == 2)
        return (bytes, layout)
    }

    static func expectCorrupt(_ bytes: [UInt8], _ layout: TableLayout, mentioning words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let source = try TimeTravelFixture.source(bytes: bytes, pageSize: 512)
        do {
            let rows = try TableRows(source: source, layout: layout).all()
            Issue.record("read \(rows.count) rows from a damaged database", sourceLocation: sourceLocation)
        } catch {
            guard case let .corrupt(_, _, detail) = error else {
                Issue.record("expected .corrupt, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(detail.contains(words), "\(detail)", sourceLocation: sourceLocation)
        }
    }

    static func setBE32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) }
    }

    @Test func aLoopInAnOverflowChainThrows() throws {
        let dir = TempDir()
        var (bytes, layout) = try Self.database(dir)
        #expect(try TableRows(source: try TimeTravelFixture.source(bytes: bytes, pageSize: 512), layout: layout).all().count == 1)
        let first = try bytes.withUnsafeBytes { b in
            let page = try BTreePage(pgno: 2, base: b.baseAddress! + 512, source: try TimeTravelFixture.source(bytes: bytes, pageSize: 512))
            return try page.cell(0, try TimeTravelFixture.source(bytes: bytes, pageSize: 512)).overflow
        }
        let second = Int(bytes[Int(first - 1) * 512]) << 24 | Int(bytes[Int(first - 1) * 512 + 1]) << 16 | Int(bytes[Int(first - 1) * 512 + 2]) << 8 | Int(bytes[Int(first - 1) * 512 + 3])
        #expect(second > 0)
        Self.setBE32(&bytes, (second - 1) * 512, first)  // the second overflow page leads back to the first
        try Self.expectCorrupt(bytes, layout, mentioning: "loops back")
    }

    @Test func anOverflowPointerOutsideTheDatabaseThrows() throws {
        let dir = TempDir()
        var (bytes, layout) = try Self.database(dir)
        let source = try TimeTravelFixture.source(bytes: bytes, pageSize: 512)
        let first = try bytes.withUnsafeBytes { b in try BTreePage(pgno: 2, base: b.baseAddress! + 512, source: source).cell(0, source).overflow }
        Self.setBE32(&bytes, Int(first - 1) * 512, 999_999)
        try Self.expectCorrupt(bytes, layout, mentioning: "outside the database")
    }

    @Test func aCellPointerPastThePageThrows() throws {
        let dir = TempDir()
        var (bytes, layout) = try Self.database(dir)
        bytes[512 + 8] = 0xff  // cell 0's pointer: 0xff.. past a 512-byte page
        try Self.expectCorrupt(bytes, layout, mentioning: "outside the cell content area")
        var (other, _) = try Self.database(TempDir())
        other[512 + 3] = 0x40  // 16,384 cells on a 512-byte page
        try Self.expectCorrupt(other, layout, mentioning: "do not fit")
    }

    @Test func anInteriorPageThatPointsBackToTheRootThrows() throws {
        let dir = TempDir()
        let db = dir.file("deep.db")
        TimeTravelFixture.run(db, "PRAGMA page_size=512; PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, b); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO t SELECT i, randomblob(50) FROM n;")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: db)))
        let layout = try #require(try SchemaReader.read(try TimeTravelFixture.source(bytes: bytes, pageSize: 512)).table(named: "t"))
        let root = Int(layout.rootPage - 1) * 512
        #expect(bytes[root] == 5)
        Self.setBE32(&bytes, root + 8, layout.rootPage)  // the right-most child is the root itself
        try Self.expectCorrupt(bytes, layout, mentioning: "reaches twice")
        let map = try? TreeOwners.map(try TimeTravelFixture.source(bytes: bytes, pageSize: 512), trees: [(name: "table t", root: layout.rootPage)])
        #expect(map == nil)
    }

    @Test func aPageThatIsNoBTreePageThrows() throws {
        let dir = TempDir()
        var (bytes, layout) = try Self.database(dir)
        bytes[512] = 7
        try Self.expectCorrupt(bytes, layout, mentioning: "not a b-tree page")
    }
}
