import CairnFormats
import CairnEngines
import CairnTestSupport
import CSQLite
import Foundation
import Testing

/// `cairn export` and `cairn import` (issue 16): databases written by the sqlite3 shell with
/// values and schemas that are hard to carry, round trips checked with `cairn digest` and
/// value by value, the CSV and JSON Lines conventions, an export as of a past SCN against a
/// restore to it, an export while another process writes, and bad input.
@Suite struct ExportImportTests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    func sqlite(_ db: String, _ sql: String) -> String {
        let r = Shell.run(["sqlite3", "-batch", db], input: sql)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    func digest(_ db: String) -> String {
        let r = cairn("digest", db)
        #expect(r.status == 0, "\(r.stderr)")
        return String(r.stdout.prefix { $0 != " " })
    }

    /// The files a failed or finished export or import left in `dir` under a temporary name.
    func leftovers(_ dir: String) -> [String] {
        FileSystem.list(dir).filter { $0.hasPrefix(".cairn-export") || $0.hasPrefix(".cairn-import") }
    }

    /// A database with what a logical dump gets wrong most easily.
    static let nasty = """
        PRAGMA journal_mode=WAL;
        PRAGMA user_version=42;
        PRAGMA application_id=305419896;
        CREATE TABLE "values"(id INTEGER PRIMARY KEY, v);
        INSERT INTO "values"(v) VALUES (NULL), (0), (-9223372036854775808), (9223372036854775807), (-0.0), (0.0), (1e-310), (5e-324),
          (1e999), (-1e999), (0.1), (1.0/3), (123.0), (1e300), (2.2250738585072014e-308),
          ((7109242760178617.0/9007199254740992)), ((-532673798052113.0/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/4611686018427387904/562949953421312)),
          (''), ('it''s'), ('line
        break'), (CAST(X'610062' AS TEXT)), (CAST(X'fffe41' AS TEXT)), (CAST(X'c0af' AS TEXT)), ('tëst ☃ 😀'),
          (X''), (X'00ff10'), (randomblob(3000)), (zeroblob(5)), ('-- not a comment; really'), ('/* nor this */'), (char(13, 10, 9, 34, 92));
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
          INSERT INTO "values"(v) SELECT CASE i % 4 WHEN 0 THEN random() / 7.0 WHEN 1 THEN random() * 1e-300 / 3.0
            WHEN 2 THEN (random() % 1000000) / 1000.0 ELSE random() * 1e290 / 11.0 END FROM n;
        CREATE TABLE gaps(a TEXT, b);
        INSERT INTO gaps(rowid, a, b) VALUES (3, 'three', 1), (10, 'ten', 2), (1000000000000, 'big', 3), (-5, 'negative', 4);
        CREATE TABLE shadowed(rowid TEXT, oid INT, x);
        INSERT INTO shadowed(_rowid_, rowid, oid, x) VALUES (7, 'r', 1, 'a'), (70, 's', 2, 'b');
        CREATE TABLE "my table"("we""ird col" TEXT, "select" INT, [order] REAL, `group` BLOB);
        INSERT INTO "my table" VALUES ('x', 1, 1.5, X'01'), ('y', 2, NULL, NULL);
        CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
        INSERT INTO kv VALUES ('b', 2), ('a', 1), ('c', X'00');
        CREATE TABLE counter(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
        INSERT INTO counter(name) VALUES ('one'), ('two'), ('three');
        DELETE FROM counter WHERE id = 3;
        CREATE TABLE gen(a INT, b INT, c INT GENERATED ALWAYS AS (a + b) VIRTUAL, d TEXT GENERATED ALWAYS AS (a || '-' || b) STORED);
        INSERT INTO gen(a, b) VALUES (1, 2), (10, 20);
        CREATE TABLE strict_t(i INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT;
        INSERT INTO strict_t VALUES (1, 2.5, 'x', X'ab', 3.25), (NULL, -0.0, '', X'', 'any');
        CREATE INDEX gaps_partial ON gaps(b) WHERE b > 1;
        CREATE INDEX gaps_expr ON gaps(lower(a), b * 2);
        CREATE TABLE log(msg TEXT);
        CREATE TRIGGER gaps_insert AFTER INSERT ON gaps BEGIN INSERT INTO log VALUES ('inserted; ' || new.a); END;
        CREATE VIEW big_gaps AS SELECT a FROM gaps WHERE b > 1;
        CREATE VIEW "view of view" AS SELECT * FROM big_gaps;
        CREATE VIRTUAL TABLE docs USING fts5(body);
        INSERT INTO docs VALUES ('hello world'), ('export and import');
        ANALYZE;
        """

    /// The storage class and the exact bits of each value of `column` of `table`, by rowid.
    func bits(_ db: String, _ table: String, _ column: String) throws -> [String] {
        let c = try SQLiteConnection(path: db, readOnly: true)
        defer { c.close() }
        var out: [String] = []
        try c.forEachRow("SELECT \(column) FROM \(table) ORDER BY rowid") { s in
            switch sqlite3_column_type(s, 0) {
            case SQLITE_FLOAT: out.append("real " + String(sqlite3_column_double(s, 0).bitPattern, radix: 16))
            case SQLITE_INTEGER: out.append("integer \(sqlite3_column_int64(s, 0))")
            case SQLITE_NULL: out.append("null")
            default:
                let n = Int(sqlite3_column_bytes(s, 0))
                let p = sqlite3_column_blob(s, 0)?.assumingMemoryBound(to: UInt8.self)
                let hex = (0..<n).map { String(format: "%02x", p![$0]) }.joined()
                out.append((sqlite3_column_type(s, 0) == SQLITE_TEXT ? "text " : "blob ") + hex)
            }
        }
        return out
    }

    @Test func aNastyDatabaseComesBackExactlyFromItsSQLScript() throws {
        let dir = TempDir()
        let db = dir.file("nasty.db"), script = dir.file("nasty.sql"), copy = dir.file("copy.db")
        _ = sqlite(db, Self.nasty)
        let export = cairn("export", db, "--format", "sql", "--to", script, "--json")
        #expect(export.status == 0, "\(export.stderr)")
        let summary = try #require(try? JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        #expect(summary["format"] as? String == "sql" && summary["files"] as? [String] == [script], "\(summary)")
        #expect((summary["rows"] as? Int ?? 0) > 3000)
        let imported = cairn("import", script, "--to", copy)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(digest(copy) == digest(db))

        // Value by value: type and bytes of every value, the rowids, the counters, the header.
        let probe = """
            SELECT rowid, typeof(v), hex(v), quote(v) FROM "values" ORDER BY rowid;
            SELECT rowid, * FROM gaps ORDER BY rowid;
            SELECT _rowid_, rowid, oid, x FROM shadowed ORDER BY _rowid_;
            SELECT * FROM "my table"; SELECT * FROM kv; SELECT * FROM gen; SELECT typeof(r), hex(r), typeof(a), a FROM strict_t;
            SELECT * FROM sqlite_sequence; SELECT * FROM sqlite_stat1 ORDER BY tbl, idx;
            PRAGMA user_version; PRAGMA application_id; PRAGMA integrity_check;
            SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE type != 'table' ORDER BY name;
            SELECT rowid FROM docs WHERE docs MATCH 'import'; SELECT * FROM "view of view";
            """
        #expect(sqlite(copy, probe) == sqlite(db, probe))
        let values = try bits(copy, "\"values\"", "v")
        #expect(values == (try bits(db, "\"values\"", "v")))
        #expect(values[2] == "integer -9223372036854775808" && values[4] == "real 8000000000000000" && values[6] == "real 12688b70e62b"
                && values[7] == "real 1" && values[8] == "real 7ff0000000000000" && values[9] == "real fff0000000000000", "\(values.prefix(12))")
        #expect(values.contains("text 610062") && values.contains("text fffe41") && values.contains("blob ") && values.contains("blob 0000000000"))
        // The counter keeps its high mark: the next row does not reuse id 3.
        #expect(sqlite(copy, "INSERT INTO counter(name) VALUES ('four'); SELECT max(id) FROM counter;") == "4\n")
        // Triggers came after the rows (the log is empty) and still work.
        #expect(sqlite(copy, "SELECT count(*) FROM log; INSERT INTO gaps VALUES ('new', 9); SELECT msg FROM log;") == "0\ninserted; new\n")

        // The script is plain SQL: the sqlite3 shell builds the same database from it.
        let shell = dir.file("shell.db")
        let r = Shell.run(["sqlite3", "-batch", shell], input: try String(contentsOfFile: script, encoding: .utf8))
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        #expect(digest(shell) == digest(db))

        // The sqlite3 shell's own .dump (it writes some reals inexactly): `cairn import`, which
        // binds the values of plain INSERTs to one compiled statement a table, builds exactly what
        // the shell builds from it.
        let dump = dir.file("shell-dump.sql"), fromDump = dir.file("from-dump.db"), shellFromDump = dir.file("shell-from-dump.db")
        try Shell.run(["sqlite3", db, ".dump"]).stdout.write(toFile: dump, atomically: true, encoding: .utf8)
        let viaCairn = cairn("import", dump, "--to", fromDump)
        #expect(viaCairn.status == 0, "\(viaCairn.stderr)")
        #expect(Shell.run(["sqlite3", "-batch", shellFromDump], input: try String(contentsOfFile: dump, encoding: .utf8)).status == 0)
        #expect(digest(fromDump) == digest(shellFromDump))
        #expect(sqlite(fromDump, probe) == sqlite(shellFromDump, probe))
        #expect(leftovers(dir.path).isEmpty)
    }

    @Test func chosenTablesComeWithTheirIndexesTriggersAndCounters() throws {
        let dir = TempDir()
        let db = dir.file("nasty.db"), script = dir.file("two.sql"), copy = dir.file("two.db")
        _ = sqlite(db, Self.nasty)
        let e = cairn("export", db, "--table", "GAPS", "counter", "docs", "--format", "sql", "--to", script, "--json")
        #expect(e.status == 0, "\(e.stderr)")
        #expect(cairn("import", script, "--to", copy).status == 0)
        let schema = "SELECT type, name FROM sqlite_schema ORDER BY type, name;"
        #expect(sqlite(copy, schema) == """
            index|gaps_expr
            index|gaps_partial
            table|counter
            table|docs
            table|docs_config
            table|docs_content
            table|docs_data
            table|docs_docsize
            table|docs_idx
            table|gaps
            table|sqlite_sequence
            trigger|gaps_insert

            """)
        let same = "SELECT rowid, * FROM gaps; SELECT * FROM counter; SELECT * FROM sqlite_sequence; SELECT rowid FROM docs WHERE docs MATCH 'hello';"
        #expect(sqlite(copy, same) == sqlite(db, same))
    }

    @Test func aUTF16DatabaseKeepsItsEncodingAndItsText() throws {
        let dir = TempDir()
        let db = dir.file("utf16.db"), script = dir.file("utf16.sql"), copy = dir.file("copy.db")
        _ = sqlite(db, "PRAGMA encoding='UTF-16le'; CREATE TABLE t(x); INSERT INTO t VALUES ('plain'), ('tëst ☃ 😀'), (''), (X'00ff');")
        #expect(cairn("export", db, "--format", "sql", "--to", script).status == 0)
        #expect(try String(contentsOfFile: script, encoding: .utf8).contains("PRAGMA encoding='UTF-16le';"))
        #expect(cairn("import", script, "--to", copy).status == 0)
        #expect(sqlite(copy, "PRAGMA encoding; SELECT hex(x) FROM t;") == sqlite(db, "PRAGMA encoding; SELECT hex(x) FROM t;"))
        #expect(digest(copy) == digest(db))
        let jsonl = dir.file("t.jsonl")
        #expect(cairn("export", db, "--format", "jsonl", "--table", "t", "--to", jsonl).status == 0)
        #expect(try String(contentsOfFile: jsonl, encoding: .utf8) == "{\"x\":\"plain\"}\n{\"x\":\"tëst ☃ 😀\"}\n{\"x\":\"\"}\n{\"x\":{\"$blob\":\"AP8=\"}}\n")
    }

    @Test func realsThatSQLiteReadsInexactlyAreWrittenAsExactExpressions() throws {
        let dir = TempDir()
        let db = dir.file("reals.db"), script = dir.file("reals.sql"), copy = dir.file("copy.db")
        _ = sqlite(db, """
            CREATE TABLE r(id INTEGER PRIMARY KEY, v);
            INSERT INTO r(v) VALUES ((7109242760178617.0/9007199254740992)), (0.25), (1e-310), (-0.0);
            """)
        #expect(cairn("export", db, "--format", "sql", "--to", script).status == 0)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        // 0.7892845 read back by SQLite 3.40 is another double: the script holds the exact form.
        #expect(text.contains("INSERT INTO \"r\" VALUES(1,(7109242760178617.0/9007199254740992));"), "\(text)")
        #expect(text.contains("VALUES(2,0.25);") && text.contains("VALUES(3,1e-310);") && text.contains("VALUES(4,-0.0);"), "\(text)")
        #expect(cairn("import", script, "--to", copy).status == 0)
        #expect(sqlite(copy, "SELECT hex(CAST(v AS BLOB)), typeof(v) FROM r;") == sqlite(db, "SELECT hex(CAST(v AS BLOB)), typeof(v) FROM r;"))
        #expect(digest(copy) == digest(db))
    }

    @Test func csvAndJSONLinesFollowTheDocumentedConventions() throws {
        let dir = TempDir()
        let db = dir.file("small.db")
        _ = sqlite(db, """
            CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score, data BLOB, note);
            INSERT INTO t VALUES (1, 'plain', 1.5, X'00ff', NULL), (2, 'a,b "c"', -0.0, X'', ''),
              (3, CAST(X'ff41' AS TEXT), 1e999, NULL, 'line
            two'), (-9223372036854775808, 'tab	nul' || CAST(X'00' AS TEXT), 0.1, X'414243', 7);
            CREATE TABLE "odd/name"(x);
            INSERT INTO "odd/name" VALUES (1);
            CREATE VIRTUAL TABLE ft USING fts5(body);
            INSERT INTO ft VALUES ('searchable');
            """)
        let out = dir.file("out")
        let csv = cairn("export", db, "--format", "csv", "--to", out, "--json")
        #expect(csv.status == 0, "\(csv.stderr)")
        // One file a table (the FTS table's visible rows, not its shadow tables), safe names.
        #expect(FileSystem.list(out) == ["ft.csv", "odd%2Fname.csv", "t.csv"])
        let t = try Data(contentsOf: URL(fileURLWithPath: out + "/t.csv"))
        var expected = Data("id,name,score,data,note\r\n-9223372036854775808,tab\tnul".utf8) + Data([0])
        expected += Data(",0.1,X'414243',7\r\n1,plain,1.5,X'00ff',\r\n2,\"a,b \"\"c\"\"\",-0.0,X'',\"\"\r\n3,".utf8)
        expected += Data([0xFF, 0x41]) + Data(",Infinity,,\"line\ntwo\"\r\n".utf8)
        #expect(t == expected, "\(String(decoding: t, as: UTF8.self).debugDescription)")
        #expect(try String(contentsOfFile: out + "/ft.csv", encoding: .utf8) == "body\r\nsearchable\r\n")

        let jsonl = dir.file("t.jsonl")
        let one = cairn("export", db, "--format", "jsonl", "--table", "t", "--to", jsonl)
        #expect(one.status == 0, "\(one.stderr)")
        let lines = try String(contentsOfFile: jsonl, encoding: .utf8)
        #expect(lines == """
            {"id":-9223372036854775808,"name":"tab\\tnul\\u0000","score":0.1,"data":{"$blob":"QUJD"},"note":7}
            {"id":1,"name":"plain","score":1.5,"data":{"$blob":"AP8="},"note":null}
            {"id":2,"name":"a,b \\"c\\"","score":-0.0,"data":{"$blob":""},"note":""}
            {"id":3,"name":{"$text":"/0E="},"score":{"$real":"Infinity"},"data":null,"note":"line\\ntwo"}

            """, "\(lines)")
        // Each line is JSON a standard parser reads.
        for line in lines.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
        }
    }

    @Test func anExportAsOfAnEarlierSCNEqualsAnExportOfARestoreToIt() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        _ = sqlite(db, "CREATE TABLE extra(id INTEGER PRIMARY KEY AUTOINCREMENT, v REAL, b BLOB); INSERT INTO extra(v, b) VALUES (0.1, X'00'), (1e-310, randomblob(100));")
        #expect(cairn("init", db).status == 0)
        #expect(cairn("backup", db).status == 0)
        let hold = WALHold(db)
        Ledger.write(db, 30, seed: 1)
        #expect(cairn("archive", db, "--once").status == 0)
        Ledger.write(db, 30, seed: 2)
        _ = sqlite(db, "DELETE FROM extra; DELETE FROM transfers WHERE id % 3 = 0;")
        #expect(cairn("archive", db, "--once").status == 0)
        hold.release()

        let past = dir.file("past.sql"), restored = dir.file("restored.db"), again = dir.file("restored.sql")
        let asOf = cairn("export", db, "--as-of", "30", "--format", "sql", "--to", past, "--json")
        #expect(asOf.status == 0, "\(asOf.stderr)")
        #expect(asOf.stdout.contains("\"scn\" : 30"), "\(asOf.stdout)")
        #expect(cairn("restore", db, "--scn", "30", "--to", restored).status == 0)
        #expect(cairn("export", restored, "--format", "sql", "--to", again).status == 0)
        // The same script but for its first line (which names where it came from).
        let a = try String(contentsOfFile: past, encoding: .utf8), b = try String(contentsOfFile: again, encoding: .utf8)
        #expect(a.split(separator: "\n").dropFirst() == b.split(separator: "\n").dropFirst())
        #expect(a.hasPrefix("-- cairn export of \(db) as of SCN 30\n"), "\(a.prefix(80))")
        let rebuilt = dir.file("rebuilt.db")
        #expect(cairn("import", past, "--to", rebuilt).status == 0)
        #expect(digest(rebuilt) == digest(restored))
        #expect(digest(rebuilt) != digest(db))
        // CSV as of the point too, of one table.
        let csv = dir.file("extra.csv")
        #expect(cairn("export", db, "--as-of", "30", "--format", "csv", "--table", "extra", "--to", csv).status == 0)
        #expect(try String(contentsOfFile: csv, encoding: .utf8).hasPrefix("id,v,b\r\n1,0.1,X'00'\r\n2,1e-310,X'"))
    }

    @Test func anExportWhileAnotherProcessWritesIsConsistent() throws {
        let dir = TempDir()
        let db = dir.file("ledger.db")
        Ledger.create(db, filler: 20000)
        let writer = Ledger.startWriter(db, 3000)
        var seen = Set<Int>()
        var whileWriting = 0
        for i in 0..<4 {
            let script = dir.file("ledger-\(i).sql"), copy = dir.file("ledger-\(i).db")
            let e = cairn("export", db, "--format", "sql", "--to", script)
            #expect(e.status == 0, "\(e.stderr)")
            #expect(cairn("import", script, "--to", copy).status == 0)
            let check = Ledger.check(copy)
            #expect(check.total == Ledger.accounts * 1000 && check.integrity == "ok", "\(check)")
            seen.insert(check.transfers)
            if writer.isRunning { whileWriting += 1 }
        }
        // Exports that ended with the writer still running saw different states of it.
        #expect(whileWriting < 2 || seen.count > 1, "\(seen)")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0, "the application's writer was not held up")
        #expect(Ledger.check(db).transfers == 23000)
        #expect(leftovers(dir.path).isEmpty)
    }

    @Test func filesAreNoMoreReadableThanTheDatabaseOrScript() throws {
        let dir = TempDir()
        let db = dir.file("private.db")
        _ = sqlite(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        chmod(db, 0o640)
        #expect(cairn("export", db, "--format", "sql", "--to", dir.file("t.sql")).status == 0)
        #expect(cairn("export", db, "--format", "jsonl", "--to", dir.file("json")).status == 0)
        #expect(FileMode.of(file: dir.file("t.sql"))?.bits == 0o640)
        #expect(FileMode.of(file: dir.file("json/t.jsonl"))?.bits == 0o640)
        chmod(dir.file("t.sql"), 0o600)
        #expect(cairn("import", dir.file("t.sql"), "--to", dir.file("copy.db")).status == 0)
        #expect(FileMode.of(file: dir.file("copy.db"))?.bits == 0o600)
    }

    @Test func anExportCreatesNoWALFilesBesideADatabaseNobodyHasOpen() throws {
        let dir = TempDir()
        let db = dir.file("closed.db")
        _ = sqlite(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        #expect(!FileSystem.exists(db + "-wal") && !FileSystem.exists(db + "-shm"))
        #expect(cairn("export", db, "--format", "sql", "--to", dir.file("a.sql")).status == 0)
        #expect(!FileSystem.exists(db + "-wal") && !FileSystem.exists(db + "-shm"), "\(FileSystem.list(dir.path))")
        // While the application has it open, its files are its own and stay.
        let hold = WALHold(db)
        #expect(cairn("export", db, "--format", "sql", "--to", dir.file("b.sql")).status == 0)
        #expect(FileSystem.exists(db + "-wal") && FileSystem.exists(db + "-shm"))
        hold.release()
    }

    @Test func badInputIsRefusedClearlyAndLeavesNothingBehind() throws {
        let dir = TempDir()
        let db = dir.file("app.db"), script = dir.file("app.sql")
        _ = sqlite(db, "CREATE TABLE alpha(x); CREATE TABLE beta(y); INSERT INTO alpha VALUES (1);")

        // A target that exists: refused without --force, unchanged; replaced with it.
        try "keep me".write(toFile: script, atomically: true, encoding: .utf8)
        let exists = cairn("export", db, "--format", "sql", "--to", script)
        #expect(exists.status == 64 && exists.stderr.contains("\(script) already exists") && exists.stderr.contains("--force"), "\(exists.stderr)")
        #expect(try String(contentsOfFile: script, encoding: .utf8) == "keep me")
        #expect(cairn("export", db, "--format", "sql", "--to", script, "--force").status == 0)
        #expect(try String(contentsOfFile: script, encoding: .utf8).contains("INSERT INTO \"alpha\"(rowid,\"x\") VALUES(1,1);"))

        // A table that does not exist: named, with the ones that do; nothing written.
        let unknown = cairn("export", db, "--format", "csv", "--table", "alpha", "gamma", "--to", dir.file("out"))
        #expect(unknown.status == 64 && unknown.stderr.contains("No table named 'gamma'") && unknown.stderr.contains("alpha, beta"), "\(unknown.stderr)")
        #expect(!FileSystem.exists(dir.file("out")))

        // A directory that cannot be written, and one that is a file.
        for target in ["/proc/cairn-export-test.sql", dir.file("app.sql/inside.sql")] {
            let r = cairn("export", db, "--format", "sql", "--to", target)
            #expect(r.status != 0 && r.stderr.contains("cairn: error:") && !r.stderr.contains("Fatal error"), "\(r.stderr)")
        }
        let procDir = cairn("export", db, "--format", "jsonl", "--to", "/proc/cairn-export-test")
        #expect(procDir.status != 0 && procDir.stderr.contains("/proc/cairn-export-test"), "\(procDir.stderr)")

        // A broken script: the line and statement are named; no database, no temporary file.
        let broken = dir.file("broken.sql"), target = dir.file("new.db")
        try "BEGIN;\nCREATE TABLE t(x);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUS (2);\nCOMMIT;\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let failed = cairn("import", broken, "--to", target)
        #expect(failed.status != 0 && failed.stderr.contains("line 4") && failed.stderr.contains("INSERT INTO t VALUS (2)"), "\(failed.stderr)")
        #expect(!FileSystem.exists(target))
        let constraint = dir.file("constraint.sql")
        try "CREATE TABLE t(x UNIQUE);\nINSERT INTO t VALUES (1);\n\nINSERT INTO t VALUES (1);\n".write(toFile: constraint, atomically: true, encoding: .utf8)
        let duplicate = cairn("import", constraint, "--to", target)
        #expect(duplicate.status != 0 && duplicate.stderr.contains("line 4") && duplicate.stderr.contains("UNIQUE"), "\(duplicate.stderr)")
        #expect(!FileSystem.exists(target))
        // An existing database is not replaced without --force.
        let existing = cairn("import", script, "--to", db)
        #expect(existing.status == 64 && existing.stderr.contains("already exists"), "\(existing.stderr)")
        #expect(sqlite(db, "SELECT count(*) FROM beta;") == "0\n")
        #expect(leftovers(dir.path).isEmpty)
    }

    @Test func anInterruptedExportLeavesEitherTheWholeFileOrNothing() throws {
        let dir = TempDir()
        let db = dir.file("big.db"), script = dir.file("big.sql")
        _ = sqlite(db, "CREATE TABLE t(x, y); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) INSERT INTO t SELECT i, randomblob(200) FROM n;")
        // Interrupted once its temporary file exists (it is writing), and once the file has grown past 1 MiB.
        for grown: UInt64 in [0, 1 << 20] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Paths.cairn)
            p.arguments = ["export", db, "--format", "sql", "--to", script, "--force"]
            try p.run()
            let deadline = Date().addingTimeInterval(30)
            while p.isRunning, Date() < deadline,
                  !leftovers(dir.path).contains(where: { (FileSystem.fileSize(dir.file($0)) ?? 0) >= max(1, grown) }) {
                usleep(1_000)
            }
            p.interrupt()
            p.waitUntilExit()
            #expect(leftovers(dir.path).isEmpty, "\(FileSystem.list(dir.path))")
            if FileSystem.exists(script) {
                #expect(try String(contentsOfFile: script, encoding: .utf8).hasSuffix("COMMIT;\n"))
            }
        }
    }
}
