import CairnFormats
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The rows that differ between two copies of a database, decoded from the pages that differ,
/// equal the difference of what SQLite returns from each copy.
@Suite struct RowChangesTests {
    /// The expected changes of one table from full queries of both copies.
    static func expected(_ before: String, _ old: TableLayout?, _ after: String, _ new: TableLayout?) throws -> (ins: Set<TableRow>, del: Set<TableRow>, upd: Set<RowUpdate>) {
        let b = try old.map { try TimeTravelFixture.expectedRows(before, $0) } ?? [:]
        let a = try new.map { try TimeTravelFixture.expectedRows(after, $0) } ?? [:]
        let common = (old?.columns ?? []).enumerated().compactMap { i, c in new?.columns.firstIndex(of: c).map { (i, $0) } }
        var out = (ins: Set<TableRow>(), del: Set<TableRow>(), upd: Set<RowUpdate>())
        for (k, v) in a {
            if let o = b[k] {
                if !common.allSatisfy({ o[$0.0] == v[$0.1] }) { out.upd.insert(RowUpdate(key: k, old: o, new: v)) }
            } else {
                out.ins.insert(TableRow(key: k, values: v))
            }
        }
        for (k, v) in b where a[k] == nil { out.del.insert(TableRow(key: k, values: v)) }
        return out
    }

    /// Builds a database, copies it, applies `changes`, and compares.
    @discardableResult
    static func check(_ config: TimeTravelFixture.Config, changes: String, leavesUnchanged: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> RowChanges {
        let dir = TempDir()
        let db = TimeTravelFixture.build(config, in: dir)
        let before = dir.file("before.db")
        try FileManager.default.copyItem(atPath: db, toPath: before)
        TimeTravelFixture.run(db, changes)
        let changed = try TimeTravelFixture.changedPages(before, db, pageSize: config.pageSize)
        let b = try TimeTravelFixture.source(before), a = try TimeTravelFixture.source(db)
        let beforeSchema = try SchemaReader.read(b), afterSchema = try SchemaReader.read(a)
        let result = try RowChanges.compute(before: b, beforeSchema, after: a, afterSchema, changed: changed)
        if let table = leavesUnchanged {
            let owners = try TreeOwners.owners(of: changed, in: a, trees: afterSchema.tables.map { (name: "table " + $0.name, root: $0.rootPage) })
            #expect(!changed.isEmpty && !owners.values.contains("table " + table), "the table's b-tree pages changed: \(owners)", sourceLocation: sourceLocation)
        }
        let names = Set(beforeSchema.tables.map(\.name)).union(afterSchema.tables.map(\.name))
        for name in names.sorted() {
            let want = try expected(before, beforeSchema.table(named: name), db, afterSchema.table(named: name))
            let got = result.tables.first { $0.name == name }
            #expect(Set(got?.inserted ?? []) == want.ins, "\(name): inserted", sourceLocation: sourceLocation)
            #expect(Set(got?.deleted ?? []) == want.del, "\(name): deleted", sourceLocation: sourceLocation)
            #expect(Set(got?.updated ?? []) == want.upd, "\(name): updated", sourceLocation: sourceLocation)
            if let got { #expect(got.inserted.map(\.key) == got.inserted.map(\.key).sorted { $0.lexicographicallyPrecedes($1) }, sourceLocation: sourceLocation) }
        }
        #expect(result.tables.map(\.name) == result.tables.map(\.name).sorted(), sourceLocation: sourceLocation)
        return result
    }

    @Test(arguments: TimeTravelFixture.configs)
    func changesEqualWhatSQLiteSays(_ config: TimeTravelFixture.Config) throws {
        let result = try Self.check(config, changes: TimeTravelFixture.changes)
        let byName = Dictionary(uniqueKeysWithValues: result.tables.map { ($0.name, $0) })
        #expect(byName["gen"]?.dropped == true && byName["fresh"]?.created == true)
        #expect(byName["altered"]?.previousColumns == ["x", "y", "z", "w"] && byName["altered"]?.columns == ["x", "y", "z", "w", "v"])
        // only the overflowing end of these texts changed: found through their overflow pages
        let tails = byName["plain"]?.updated.filter { if case let .text(s) = $0.new[1] { return s.hasSuffix("ZZZZZ") } else { return false } } ?? []
        #expect(tails.count == 14)
        #expect(byName["odd \"name\""] == nil)
        let json = try JSONEncoder().encode(result)
        let back = try JSONDecoder().decode(RowChanges.self, from: json)
        #expect(back.tables.map(\.name) == result.tables.map(\.name))
    }

    @Test func onlyAnOverflowPageChangedIsFound() throws {
        for config in [TimeTravelFixture.Config(pageSize: 512, wal: false), TimeTravelFixture.Config(pageSize: 512, wal: false, autoVacuum: "FULL")] {
            let result = try Self.check(config, changes: "UPDATE plain SET name = substr(name, 1, length(name) - 3) || 'end' WHERE id = 340;",
                                          leavesUnchanged: "plain")
            #expect(result.tables.map(\.name) == ["plain"] && result.tables.first?.updated.count == 1, "\(config)")
        }
    }

    @Test func aFewChangesInABigDatabaseReadFewPages() throws {
        let dir = TempDir()
        let db = dir.file("big.db")
        TimeTravelFixture.run(db, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER);
            CREATE INDEX t_b ON t(b);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO t SELECT i, 'row ' || i || hex(randomblob(40)), i % 97 FROM n;
            """)
        let before = dir.file("before.db")
        try FileManager.default.copyItem(atPath: db, toPath: before)
        TimeTravelFixture.run(db, "UPDATE t SET b = b + 1 WHERE id % 20 = 0 AND id <= 10000; DELETE FROM t WHERE id BETWEEN 15001 AND 15500;")
        let changed = try TimeTravelFixture.changedPages(before, db, pageSize: 4096)
        var reads = 0
        func counted(_ path: String) throws -> DatabasePages {
            let file = try OpenFile(path)
            return try DatabasePages(name: path, pageSize: 4096, pageCount: file.pageCount) { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
                reads += 1
                try file.read(pgno, into)
            }
        }
        let b = try counted(before), a = try counted(db)
        let beforeSchema = try SchemaReader.read(b), afterSchema = try SchemaReader.read(a)
        reads = 0
        let result = try RowChanges.compute(before: b, beforeSchema, after: a, afterSchema, changed: changed)
        #expect(result.tables.first?.updated.count == 500 && result.tables.first?.deleted.count == 500)
        #expect(reads < 2 * changed.count + Int(b.pageCount) / 10, "\(reads) pages read, \(changed.count) changed of \(b.pageCount)")
    }
}
