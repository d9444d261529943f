@testable import CairnEngines
import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// `AsOfConnection` refuses anything that could write, writes no file, and reports a page
/// its source could not supply as the source's own error, with the page's number.
@Suite struct AsOfConnectionSafetyTests {
    static func snapshot(_ f: AsOfFixture) throws -> (files: [String], bytes: Data, cwd: [String]) {
        let cwd = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.currentDirectoryPath).filter { $0.hasPrefix("cairn-pages") }
        return (f.servedDirectory, try Data(contentsOf: URL(fileURLWithPath: f.served)), cwd)
    }

    @Test func statementsThatCouldWriteAreRefusedAndNothingIsWritten() throws {
        let f = try AsOfFixture(.init(pageSize: 4096, wal: true, rows: 200))
        let before = try Self.snapshot(f)
        let connection = try AsOfConnection(source: FilePageSource(path: f.served), label: "app.db as of SCN 7")
        let other = f.dir.file("other.db"), copy = f.dir.file("copy.db")
        let refused = [
            "INSERT INTO items(name) VALUES ('x')",
            "UPDATE items SET qty = 0",
            "DELETE FROM tags",
            "CREATE TABLE t(a)",
            "CREATE TEMP TABLE t(a)",
            "CREATE INDEX items_qty ON items(qty)",
            "DROP TABLE big",
            "ATTACH '\(other)' AS other",
            "ATTACH 'file:\(other)?vfs=unix&mode=rwc' AS other",
            "PRAGMA journal_mode=delete",
            "PRAGMA journal_mode=wal",
            "PRAGMA query_only=0",
            "PRAGMA cache_size=-1000000",
            "VACUUM",
            "VACUUM INTO '\(copy)'",
            "ANALYZE",
            "REINDEX",
            "SELECT 1; INSERT INTO items(name) VALUES ('x')",
        ]
        for sql in refused {
            #expect(throws: EngineError.self, "\(sql)") { try connection.query(sql) }
            do {
                _ = try connection.queryAll(sql)
            } catch {
                guard case let .invalidArgument(message) = error else { Issue.record("\(sql): \(error)"); continue }
                #expect(message.contains("refused"), "\(sql): \(message)")
            }
        }
        #expect(try connection.query("SELECT count(*) FROM items").rows == [[.integer(200)]], "still usable, unchanged")
        #expect(try connection.query("PRAGMA table_info(items)").rows.count == 6, "pragmas that read run")
        #expect(try connection.query("PRAGMA cache_size").rows == [[.integer(-Int64(AsOfConnection.cacheKiB))]])
        connection.close()
        let after = try Self.snapshot(f)
        #expect(after.files == before.files && after.files == ["app.db"])
        #expect(after.bytes == before.bytes)
        #expect(after.cwd == before.cwd, "no file named after the VFS in the working directory")
        #expect(!FileManager.default.fileExists(atPath: other) && !FileManager.default.fileExists(atPath: copy))
    }

    @Test func aPageTheSourceCannotSupplyIsReportedWithItsNumber() throws {
        let f = try AsOfFixture(.init(pageSize: 4096, wal: false, rows: 3000))
        let leaves = PageDamage.leafPages(f.reference, table: "items")
        let bad = try #require(leaves.dropFirst(leaves.count / 2).first)
        let source = InstrumentedSource(try FilePageSource(path: f.served))
        let connection = try AsOfConnection(source: source, label: "app.db")
        source.failing = bad
        let want = EngineError.missingLog(sequence: 42, incarnation: 1, looked: ["/archive/one"], recoveredTo: 99)
        #expect(throws: want) { try connection.query("SELECT count(*), total(length(note)) FROM items") }
        let failure = try #require(connection.sourceFailure)
        #expect(failure.page == bad && failure.error == want)
        #expect(failure.description.hasPrefix("page \(bad) could not be read: "))
        // Queries that do not need the page still work, and so does everything once it can be read.
        #expect(try connection.query("SELECT count(*) FROM tags").rows == [[.integer(300)]])
        #expect(connection.sourceFailure == nil)
        source.failing = nil
        #expect(try connection.query("SELECT count(*) FROM items").rows == [[.integer(3000)]])
    }

    @Test func aSourceThatCannotSupplyPageOneFailsTheOpening() throws {
        let f = try AsOfFixture(.init(pageSize: 512, wal: true, rows: 10))
        let source = InstrumentedSource(try FilePageSource(path: f.served))
        source.failing = 1
        #expect(throws: EngineError.missingLog(sequence: 42, incarnation: 1, looked: ["/archive/one"], recoveredTo: 99)) {
            _ = try AsOfConnection(source: source, label: "app.db")
        }
    }

    @Test func aSourceWithAnImpossiblePageSizeIsRefused() throws {
        final class Odd: PageSource {
            var pageSize: Int { 1000 }
            var pageCount: UInt32 { 1 }
            func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError) {}
        }
        #expect(throws: EngineError.self) { _ = try AsOfConnection(source: Odd(), label: "odd") }
    }

    /// SQLite's reads at any offset and length, including past the end, come from the pages.
    @Test func partialAndShortReadsAreServedFromPages() throws {
        var bytes = [UInt8](repeating: 0, count: 512 * 3 + 400)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 7) }
        bytes.replaceSubrange(0..<16, with: Array("SQLite format 3\0".utf8))
        bytes[16] = 2
        bytes[17] = 0
        let source = try MemoryPageSource(bytes: bytes)
        #expect(source.pageSize == 512 && source.pageCount == 4)
        let server = PageServer(source: source)
        var out = [UInt8](repeating: 0xEE, count: 700)
        #expect(out.withUnsafeMutableBytes { server.serve(into: $0.baseAddress!, amount: 700, offset: 300) } == 0)
        #expect(Array(out) == Array(bytes[300..<1000]))
        out = [UInt8](repeating: 0xEE, count: 700)
        let short = out.withUnsafeMutableBytes { server.serve(into: $0.baseAddress!, amount: 700, offset: 1700) }
        #expect(short == 522, "SQLITE_IOERR_SHORT_READ")
        let tail = Array(bytes[1700...]) + [UInt8](repeating: 0, count: 2048 - bytes.count)
        #expect(Array(out[0..<348]) == tail && out[348...].allSatisfy { $0 == 0 }, "the end of page 4 is zeros, and so is all past it")
    }
}
