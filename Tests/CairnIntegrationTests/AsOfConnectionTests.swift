@testable import CairnEngines
import CairnFormats
import CSQLiteShim
import CairnTestSupport
import Foundation
import Testing

/// SQL run over pages served by Swift code (`AsOfConnection` and the cairn-pages VFS) answers
/// exactly what SQLite answers reading the same database file itself, reads few pages, and
/// leaves no file behind.
@Suite struct AsOfConnectionTests {
    static let shapes: [AsOfFixture.Shape] = [
        .init(pageSize: 512, wal: true),
        .init(pageSize: 512, wal: false, encoding: "UTF-16be"),
        .init(pageSize: 4096, wal: false),
        .init(pageSize: 4096, wal: true, encoding: "UTF-16le"),
        .init(pageSize: 65536, wal: true),
        .init(pageSize: 65536, wal: false),
    ]

    @Test(arguments: shapes)
    func servedPagesAnswerAsTheFileDoes(_ shape: AsOfFixture.Shape) throws {
        let f = try AsOfFixture(shape)
        let header = try DatabaseHeader.read(f.served)
        #expect(header.pageSize == shape.pageSize && header.isWAL == shape.wal, "the fixture is what it claims")
        let connection = try AsOfConnection(source: FilePageSource(path: f.served), label: "app.db as served")
        for sql in AsOfFixture.queries {
            let got = try connection.query(sql)
            let want = try f.expected(sql)
            #expect(got == want, "\(shape): \(sql)")
            #expect(!got.rows.isEmpty, "\(shape): \(sql) returns rows")
        }
        #expect(try connection.query("PRAGMA integrity_check").rows == [[.text("ok")]])
        connection.close()
        #expect(f.servedDirectory == ["app.db"], "no journal, WAL or WAL index beside the served file")
    }

    @Test func anInMemorySourceServesTheSameAnswers() throws {
        let f = try AsOfFixture(.init(pageSize: 4096, wal: true, encoding: "UTF-16le", rows: 500))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f.served)))
        let connection = try AsOfConnection(source: MemoryPageSource(bytes: bytes), label: "memory")
        for sql in AsOfFixture.queries {
            #expect(try connection.query(sql) == f.expected(sql), "\(sql)")
        }
        let text = try connection.query("SELECT substr(payload, 1, 13) FROM big WHERE id = 3")
        #expect(text.rows == [[.text("héllo wörld ✓")]], "UTF-16 text comes back as Swift strings")
    }

    /// 50,000 rows of ~300 bytes: a lookup by key reads a few pages, and sorting every row by
    /// an unindexed column (more than the 16 MiB cache holds) spills to temporary files, which
    /// the default VFS serves.
    @Test func aKeyLookupReadsAFewPagesAndABigSortSpillsToTemporaryFiles() throws {
        let f = try AsOfFixture(.init(pageSize: 4096, wal: true, rows: 50_000, noteBytes: 200))
        let source = InstrumentedSource(try FilePageSource(path: f.served))
        let connection = try AsOfConnection(source: source, label: "app.db")
        let opening = source.reads
        let row = try connection.query("SELECT id, name, qty FROM items WHERE id = 31337")
        #expect(row == (try f.expected("SELECT id, name, qty FROM items WHERE id = 31337")))
        #expect(source.reads - opening <= 10, "the lookup read \(source.pagesRead.suffix(source.reads - opening))")
        #expect(source.reads <= 12, "opening and the lookup read pages \(source.pagesRead)")

        let temporaryFiles = cairn_pages_temporary_opens()
        var rows = 0
        var previous: String?
        var ordered = true
        try connection.stream("SELECT note, id FROM items ORDER BY note") { event throws(EngineError) in
            guard case let .row(values) = event, case let .text(note) = values[0] else { return }
            rows += 1
            if let previous, previous > note { ordered = false }
            previous = note
        }
        #expect(rows == 50_000 && ordered)
        #expect(cairn_pages_temporary_opens() > temporaryFiles, "the sort spilled to temporary files")
        let distinct = "SELECT count(*) FROM (SELECT DISTINCT note FROM items)"
        #expect(try connection.query(distinct) == f.expected(distinct))
        #expect(try connection.query("PRAGMA integrity_check").rows == [[.text("ok")]])
        #expect(f.servedDirectory == ["app.db"])
    }

    @Test func severalStatementsRunInTurn() throws {
        let f = try AsOfFixture(.init(pageSize: 4096, wal: false, rows: 100))
        let connection = try AsOfConnection(source: FilePageSource(path: f.served), label: "app.db")
        let results = try connection.queryAll("SELECT count(*) FROM items; -- a comment\n SELECT 1 AS one, 'two' AS two; ")
        #expect(results.map(\.columns) == [["count(*)"], ["one", "two"]])
        #expect(results.map(\.rows) == [[[.integer(100)]], [[.integer(1), .text("two")]]])
        #expect(throws: EngineError.self) { try connection.query("SELECT 1; SELECT 2") }
        #expect(try connection.queryAll("  -- nothing\n").isEmpty)
    }

    @Test func twoConnectionsOverTwoSourcesAtOnce() async throws {
        let a = try AsOfFixture(.init(pageSize: 4096, wal: true, rows: 1234), name: "twoA")
        let b = try AsOfFixture(.init(pageSize: 512, wal: false, rows: 4321), name: "twoB")
        let first = try AsOfConnection(source: FilePageSource(path: a.served), label: "a")
        let second = try AsOfConnection(source: FilePageSource(path: b.served), label: "b")
        for _ in 0..<3 {
            #expect(try first.query("SELECT count(*) FROM items").rows == [[.integer(1234)]])
            #expect(try second.query("SELECT count(*) FROM items").rows == [[.integer(4321)]])
        }
        // And on two threads at once, a connection each.
        let paths = [a.served, b.served]
        let counts = try await withThrowingTaskGroup(of: Int64.self) { group in
            for path in paths {
                group.addTask {
                    let c = try AsOfConnection(source: FilePageSource(path: path), label: path)
                    var total: Int64 = 0
                    for _ in 0..<20 {
                        if case let .integer(n) = try c.query("SELECT count(*) FROM items ORDER BY 1").rows[0][0] { total += n }
                    }
                    return total
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }.sorted()
        }
        #expect(counts == [1234 * 20, 4321 * 20])
    }
}
