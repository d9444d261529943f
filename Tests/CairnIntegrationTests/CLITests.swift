import CairnFormats
import CairnCatalog
import CairnEngines
@testable import CairnCLI
import CairnTestSupport
import Foundation
import Testing

/// The `cairn` executable: JSON output, exit codes and messages.
@Suite struct CLITests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    func json(_ s: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(s.utf8)) }

    @Test func fullCycleThroughTheCommandLine() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 3000)
        #expect(cairn("init", db).status == 0)
        let writer = Ledger.startWriter(db, 500)
        let b1 = cairn("backup", db, "--tag", "first", "--max-piece-size", "64K", "--json")
        writer.waitUntilExit()
        #expect(b1.status == 0, "\(b1.stderr)")
        let b2 = cairn("backup", db, "--as-copy")
        #expect(b2.status == 0 && b2.stdout.contains("image copy"))

        let list = cairn("list", "backups", db, "--json")
        let rows = try #require(json(list.stdout) as? [[String: Any]])
        #expect(rows.count == 2)
        for key in ["id", "level", "scn", "pieces", "bytes", "completedAt", "tag"] {
            #expect(rows[0].keys.contains(key), "missing \(key)")
        }
        #expect(rows[0]["tag"] as? String == "first")
        #expect((rows[0]["pieces"] as? Int ?? 0) > 1)
        #expect(rows[1]["tag"] is NSNull)

        let status = try #require(json(cairn("status", db, "--json").stdout) as? [String: Any])
        for key in ["dbid", "incarnation", "scn"] { #expect(status.keys.contains(key), "missing \(key)") }
        #expect(status["incarnation"] as? Int == 1)

        let out = dir.file("r.db")
        let r = cairn("restore", db, "--to", out, "--backup", "1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Ledger.check(out).total == Ledger.accounts * 1000)
        #expect(cairn("restore", db, "--validate").status == 0)
        #expect(cairn("validate", db).stdout.contains("2 of 2 backup(s) valid"))
        let digest = cairn("digest", db, "--json")
        #expect((json(digest.stdout) as? [String: Any])?["digest"] is String)
    }

    /// `cairn agent --check-config` names the line of each mistake (exit 64), and says OK otherwise.
    @Test func agentCheckConfigNamesTheLineOfEachMistake() throws {
        let dir = TempDir()
        let bad = dir.file("bad.yml"), good = dir.file("good.yml")
        try "databases:\n  - path: /a.db\n    retension: {redundancy: 1}\n  - path: /b.db\n    schedule:\n      - {job: backup, cron: \"0 25 * * *\"}\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let r = Shell.run([Paths.cairn, "agent", "--check-config", "--config", bad])
        #expect(r.status == 64 && r.stderr.contains("\(bad):3:5:") && r.stderr.contains("retension") && r.stderr.contains("\(bad):6:"), "\(r.stderr)")
        try "databases:\n  - path: ${DB_DIR}/a.db\n    schedule:\n      - {job: backup, level: 0, at: \"daily at 02:00\"}\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        let ok = Shell.run([Paths.cairn, "agent", "--check-config", "--config", good], environment: ["DB_DIR": "/srv"])
        #expect(ok.status == 0 && ok.stdout.contains("OK, 1 database entry, 1 scheduled job(s)"), "\(ok.stdout) \(ok.stderr)")
        let unset = Shell.run([Paths.cairn, "agent", "--check-config", "--config", good])
        #expect(unset.status == 64 && unset.stderr.contains("DB_DIR is not set"), "\(unset.stderr)")
        // The commented sample configuration is valid.
        let sample = Shell.run([Paths.cairn, "agent", "--check-config", "--config", Paths.packageRoot + "/packaging/cairn.yml"])
        #expect(sample.status == 0, "\(sample.stderr)")
        // Running needs a file it can read: what is wrong and which file, exit 64, nothing started.
        let missing = Shell.run([Paths.cairn, "agent", "--config", dir.file("nope.yml")])
        #expect(missing.status == 64 && missing.stderr.contains(dir.file("nope.yml")) && !missing.stderr.contains("Fatal"), "\(missing.stderr)")
        try "databases: [\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let syntax = Shell.run([Paths.cairn, "agent", "--config", bad])
        #expect(syntax.status == 64 && syntax.stderr.contains("\(bad):") && syntax.stderr.contains("YAML"), "\(syntax.stderr)")
    }

    @Test func badArgumentsGiveClearErrorsAndNonzeroExits() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        let missing = cairn("backup", dir.file("nope.db"))
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("not registered") || missing.stderr.contains("does not exist"))

        #expect(cairn("init", db).status == 0)
        for (args, needle) in [
            (["backup", db, "--max-piece-size", "lots"], "--max-piece-size"),
            (["backup", db, "--compression", "99"], "--compression"),
            (["backup", db, "--level", "3"], "--level"),
            (["restore", db], "--to"),
            (["restore", db, "--to", dir.file("x.db"), "--in-place"], "exactly one"),
            (["restore", db, "--to", dir.file("x.db")], "No usable backup"),
            (["init", db], "already registered"),
            (["init", dir.file("other.db"), "--log-groups", "1"], "--log-groups 1: at least 2"),
            (["init", dir.file("other.db"), "--mode", "0755"], "--mode 0755: has execute bits"),
            (["restore", db, "--to", dir.file("x.db"), "--backup", "-4"], "backup"),
        ] {
            let r = Shell.run([Paths.cairn] + args)
            #expect(r.status != 0, "\(args) exited 0")
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        }
        // Nothing was recorded by the failed commands.
        let rows = json(cairn("list", "backups", db, "--json").stdout) as? [Any]
        #expect(rows?.count == 0)
    }

    @Test func validateExitsNonzeroOnCorruption() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 3000)
        #expect(cairn("init", db).status == 0)
        #expect(cairn("backup", db).status == 0)
        let piece = db + ".cairn/backups/00000001/piece-0001.cbp"
        chmod(piece, 0o644)
        var bytes = try FileSystem.readAll(piece)
        bytes[bytes.count / 2] ^= 0xFF
        try FileSystem.atomicWrite(bytes, to: piece)
        let v = cairn("validate", db)
        #expect(v.status == 4)
        #expect(v.stdout.contains("FAILED") && v.stdout.contains("piece-0001.cbp"))
        let r = cairn("restore", db, "--to", dir.file("out.db"))
        #expect(r.status == 4)
        #expect(r.stderr.contains("piece-0001.cbp"))
        #expect(!FileSystem.exists(dir.file("out.db")))
    }
}

/// The quickstart's own proof, run through the library.
@Suite struct QuickstartTests {
    @Test func quickstartProvesTheRestoreEqual() throws {
        let dir = TempDir()
        var lines: [String] = []
        let ok = try QuickstartDemo(directory: dir.file("qs")).run { lines.append($0) }
        #expect(ok, "\(lines.joined(separator: "\n"))")
        #expect(lines.last?.hasPrefix("PROOF") == true)
    }
}
