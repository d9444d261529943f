import Foundation
import Testing
import CairnFormats
import CairnCatalog
@testable import CairnEngines
import CairnTestSupport

/// The done-when story's second half, by the CLI while capture runs in another process: a bad
/// DELETE undone by `flashback table` (later rows of other tables kept) and by `log undo`, a
/// dropped table brought back by `undrop`, and a restored file rolled forward by `recover`.
@Suite(.serialized) struct RowTimeTravelTests {
    static func rows(_ db: String, _ sql: String) -> String {
        Shell.run(["sqlite3", db, sql]).stdout
    }

    static func cairn(_ args: [String]) -> Shell.Output {
        Shell.run([Paths.cairn] + args)
    }

    @Test func aBadDeleteComesBackByFlashbackTableOrUndoAndADropByUndrop() throws {
        let h = try CaptureHarness(count: 40)
        let follow = h.startFollow()
        defer { _ = h.stop(follow) }
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(0..<40))
        #expect(h.waitCaptured(40), "\(h.followLog)")
        let transfersThen = Self.rows(h.db, "SELECT * FROM transfers ORDER BY id")
        _ = h.write("DELETE FROM transfers WHERE id % 7 = 0;\n" + (0..<5).map { "UPDATE accounts SET balance = balance + 1 WHERE id = \($0 + 1);" }.joined(separator: "\n"))
        #expect(h.waitCaptured(46), "\(h.followLog)")
        let accountsNow = Self.rows(h.db, "SELECT * FROM accounts ORDER BY id")
        #expect(Self.rows(h.db, "SELECT * FROM transfers ORDER BY id") != transfersThen)

        // Found with one command, then put back with flashback table: accounts keep their later rows.
        let found = Self.cairn(["log", "list", h.db, "--since", "40", "--table", "transfers", "--json"])
        #expect(found.status == 0 && found.stdout.contains("\"scn\" : 41"), "\(found.stderr)")
        let preview = Self.cairn(["flashback", "table", h.db, "transfers", "--scn", "40", "--preview", "--json"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(Self.rows(h.db, "SELECT * FROM transfers ORDER BY id") != transfersThen, "a preview changes nothing")
        let back = Self.cairn(["flashback", "table", h.db, "transfers", "--scn", "40"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(Self.rows(h.db, "SELECT * FROM transfers ORDER BY id") == transfersThen)
        #expect(Self.rows(h.db, "SELECT * FROM accounts ORDER BY id") == accountsNow)
        #expect(h.waitCaptured(47), "\(h.followLog)")

        // The same DELETE again, undone by log undo this time.
        _ = h.write("DELETE FROM transfers WHERE id % 7 = 0;")
        #expect(h.waitCaptured(48), "\(h.followLog)")
        let undo = Self.cairn(["log", "undo", h.db, "--scn", "48"])
        #expect(undo.status == 0, "\(undo.stderr)")
        #expect(Self.rows(h.db, "SELECT * FROM transfers ORDER BY id") == transfersThen)
        #expect(h.waitCaptured(49), "\(h.followLog)")
        // Undoing it twice would overwrite the rows it put back: refused, nothing changed.
        let twice = Self.cairn(["log", "undo", h.db, "--scn", "48"])
        #expect(twice.status != 0 && twice.stderr.contains("changed again since"), "\(twice.stderr)")

        // A dropped table comes back with its rows and index.
        _ = h.write("CREATE INDEX transfers_src ON transfers(src);")
        #expect(h.waitCaptured(50), "\(h.followLog)")
        _ = h.write("DROP TABLE transfers;")
        #expect(h.waitCaptured(51), "\(h.followLog)")
        let listed = Self.cairn(["list", "dropped", h.db, "--json"])
        #expect(listed.status == 0 && listed.stdout.contains("\"name\" : \"transfers\"") && listed.stdout.contains("\"scn\" : 51"), "\(listed.stdout) \(listed.stderr)")
        let undrop = Self.cairn(["undrop", h.db, "transfers"])
        #expect(undrop.status == 0, "\(undrop.stderr)")
        #expect(Self.rows(h.db, "SELECT * FROM transfers ORDER BY id") == transfersThen)
        #expect(Self.rows(h.db, "SELECT name FROM sqlite_schema WHERE tbl_name = 'transfers' ORDER BY name") == "transfers\ntransfers_src\n")
        #expect(Ledger.check(h.db).integrity == "ok")
        #expect(h.waitCaptured(52), "\(h.followLog)")

        // A file restored to SCN 41 for inspection, then rolled forward to the newest point.
        let inspected = h.dir.file("inspect.db")
        #expect(Self.cairn(["restore", h.db, "--to", inspected, "--scn", "41"]).status == 0)
        #expect(Self.rows(inspected, "SELECT count(*) FROM transfers WHERE id % 7 = 0") == "0\n")
        let further = Self.cairn(["recover", inspected, "--scn", "47"])
        #expect(further.status == 0, "\(further.stderr)")
        #expect(Self.rows(inspected, "SELECT * FROM transfers ORDER BY id") == transfersThen)
        let latest = Self.cairn(["recover", inspected, "--json"])
        #expect(latest.status == 0, "\(latest.stderr)")
        #expect(try ContentDigest.compute(inspected) == (try ContentDigest.compute(h.db)))
    }

    @Test func badTargetsAreRefusedAndChangeNothing() throws {
        let h = try CaptureHarness(count: 20)
        let follow = h.startFollow()
        defer { _ = h.stop(follow) }
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(0..<20))
        _ = h.write("CREATE TABLE later(x); ALTER TABLE accounts ADD COLUMN note TEXT;")
        #expect(h.waitCaptured(21), "\(h.followLog)")
        let before = Self.rows(h.db, "SELECT * FROM accounts ORDER BY id")
        // A table that did not exist then; a schema that changed since (both schemas shown).
        let missing = Self.cairn(["flashback", "table", h.db, "later", "--scn", "10"])
        #expect(missing.status != 0 && missing.stderr.contains("No table later existed at SCN 10"), "\(missing.stderr)")
        let changed = Self.cairn(["flashback", "table", h.db, "accounts", "--scn", "10"])
        #expect(changed.status != 0 && changed.stderr.contains("then:") && changed.stderr.contains("now:"), "\(changed.stderr)")
        #expect(Self.rows(h.db, "SELECT * FROM accounts ORDER BY id") == before)
        // --to-table takes the old rows whatever the schema now.
        let copy = Self.cairn(["flashback", "table", h.db, "accounts", "--scn", "10", "--to-table", "accounts_then"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(Self.rows(h.db, "SELECT count(*) FROM accounts_then") == Self.rows(h.db, "SELECT count(*) FROM accounts"))
        // A point past the newest captured, and an incarnation that does not exist.
        let future = Self.cairn(["flashback", "table", h.db, "transfers", "--scn", "999"])
        #expect(future.status != 0 && future.stderr.contains("not reachable"), "\(future.stderr)")
        let noInc = Self.cairn(["restore", h.db, "--to", h.dir.file("x.db"), "--incarnation", "7", "--scn", "5"])
        #expect(noInc.status != 0 && noInc.stderr.contains("no incarnation 7"), "\(noInc.stderr)")
        // Undo of a schema change; recover of a file with no record of a restore.
        let schemaUndo = Self.cairn(["log", "undo", h.db, "--scn", "21"])
        #expect(schemaUndo.status != 0, "\(schemaUndo.stderr)")
        let stray = Self.cairn(["recover", h.db + "-nothing"])
        #expect(stray.status != 0 && stray.stderr.contains("no record of a Cairn restore"), "\(stray.stderr)")
    }
}
