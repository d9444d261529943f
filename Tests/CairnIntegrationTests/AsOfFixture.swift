@testable import CairnEngines
import CairnFormats
import CSQLite
import CairnTestSupport
import Foundation
import Testing

/// Databases written by the `sqlite3` command (checkpointed, so the file holds everything),
/// served through `AsOfConnection` and compared with SQLite reading the same file itself.
struct AsOfFixture {
    struct Shape: Sendable, CustomStringConvertible {
        var pageSize: Int
        var wal: Bool
        var encoding = "UTF-8"
        var rows = 3000
        /// Random bytes per row's `note` (written as hex, twice as long).
        var noteBytes = 60
        var description: String { "\(pageSize)-byte pages, \(wal ? "WAL" : "rollback"), \(encoding), \(rows) rows" }
    }

    let dir: TempDir
    /// The file served (nothing else ever opens it).
    let served: String
    /// A copy SQLite opens itself, for the expected answers.
    let reference: String
    let shape: Shape

    init(_ shape: Shape, name: String = #function) throws {
        self.shape = shape
        dir = TempDir(name)
        let servedDir = dir.file("served"), referenceDir = dir.file("reference")
        try FileManager.default.createDirectory(atPath: servedDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: referenceDir, withIntermediateDirectories: true)
        served = servedDir + "/app.db"
        reference = referenceDir + "/app.db"
        let r = Shell.run(["sqlite3", "-batch", reference], input: Self.script(shape))
        try #require(r.status == 0, "sqlite3: \(r.stderr)")
        try FileManager.default.copyItem(atPath: reference, toPath: served)
    }

    static func script(_ s: Shape) -> String {
        """
        PRAGMA page_size=\(s.pageSize);
        PRAGMA encoding='\(s.encoding)';
        PRAGMA journal_mode=\(s.wal ? "WAL" : "DELETE");
        CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL, note TEXT, data BLOB);
        CREATE INDEX items_name ON items(name);
        CREATE TABLE tags(tag TEXT PRIMARY KEY, item INTEGER, weight REAL) WITHOUT ROWID;
        CREATE TABLE big(id INTEGER PRIMARY KEY, payload);
        BEGIN;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < \(s.rows))
          INSERT INTO items SELECT i, printf('item-%06d-é', (i * 7919) % \(s.rows)), (i * 31) % 1000, i * 0.25,
                                  hex(randomblob(\(s.noteBytes))), CASE WHEN i % 10 = 0 THEN NULL ELSE randomblob(i % 50) END FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < \(s.rows / 10))
          INSERT INTO tags SELECT printf('tag-%05d', i), i * 3, i / 7.0 FROM n;
        INSERT INTO big VALUES (1, randomblob(300000)), (2, zeroblob(100000)), (3, 'héllo wörld ✓ ' || hex(randomblob(5000)));
        COMMIT;
        PRAGMA wal_checkpoint(TRUNCATE);
        """
    }

    /// Queries whose answers must not depend on how the pages reach SQLite.
    static let queries = [
        "SELECT count(*), sum(qty), total(price) FROM items",
        "SELECT id, name FROM items ORDER BY name LIMIT 100",
        "SELECT * FROM items WHERE name BETWEEN 'item-000100' AND 'item-000300' ORDER BY name",
        "SELECT qty, count(*), sum(price), avg(price), max(name) FROM items GROUP BY qty ORDER BY qty",
        "SELECT t.tag, i.name, i.price, t.weight FROM tags t JOIN items i ON i.id = t.item ORDER BY t.tag",
        "SELECT id, note FROM items ORDER BY note DESC",
        "SELECT DISTINCT qty % 97 AS r FROM items ORDER BY r",
        "SELECT id, length(payload), typeof(payload), payload FROM big ORDER BY id",
        "SELECT * FROM tags WHERE tag = 'tag-00042'",
        "SELECT * FROM items WHERE id = 31337 OR id = 7",
        "PRAGMA integrity_check",
        "SELECT name, type FROM sqlite_schema ORDER BY name",
    ]

    /// What SQLite answers reading the reference file itself.
    func expected(_ sql: String) throws -> QueryResult {
        let connection = try SQLiteConnection(path: reference, readOnly: true)
        defer { connection.close() }
        return try connection.withHandle { db throws(EngineError) -> QueryResult in
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw .sqlite(path: reference, code: sqlite3_errcode(db), message: String(cString: sqlite3_errmsg(db)))
            }
            defer { sqlite3_finalize(statement) }
            var result = QueryResult(columns: SQLiteValue.columns(statement))
            while sqlite3_step(statement) == SQLITE_ROW { result.rows.append(SQLiteValue.row(statement)) }
            return result
        }
    }

    /// The files in the served file's directory.
    var servedDirectory: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: FileSystem.parent(of: served)).sorted()) ?? []
    }
}

/// A source that counts its reads and fails for one page when told to.
final class InstrumentedSource: PageSource {
    let inner: any PageSource
    var reads = 0
    var pagesRead: [UInt32] = []
    var failing: UInt32?

    init(_ inner: any PageSource) { self.inner = inner }

    var pageSize: Int { inner.pageSize }
    var pageCount: UInt32 { inner.pageCount }

    func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        reads += 1
        pagesRead.append(pgno)
        if pgno == failing {
            throw .missingLog(sequence: 42, incarnation: 1, looked: ["/archive/one"], recoveredTo: 99)
        }
        try inner.read(pgno, into: buffer)
    }
}
