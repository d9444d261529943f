@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// Complete recovery is the default: every captured transaction, archived or not; when a gap
/// or a missing log stops it short it goes as far as it can and says what it left out. Every
/// database a restore builds passes SQLite's integrity_check before it is handed out.
/// `status` shows captured, archived and recoverable, planned the way the restore plans.
@Suite struct CompleteRecoveryTests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    func json(_ out: Shell.Output) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
    }

    static func deleteDatabase(_ db: String) {
        for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(db + suffix) }
    }

    /// Files a restore beside `path` left behind (temporary builds, extracted logs).
    static func leftovers(in dir: String) -> [String] {
        FileSystem.list(dir).filter { $0.contains(".cairn-restore") || $0.contains(".cairn-log") }
    }

    // MARK: - (1) Everything captured, archived or not, after the database is deleted

    @Test func theDefaultRestoreGivesEveryCapturedTransactionAfterTheDatabaseIsDeleted() throws {
        let dir = TempDir()
        let db = dir.file("app.db"), dest = dir.file("archive")
        Ledger.create(db, filler: 2000)
        var redo = RedoOptions()
        redo.archiveDestinations = [dest]
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        try p.backup(.quiet())
        let hold = WALHold(db)
        // Log 1: archived.
        Ledger.write(db, 60, seed: 1)
        #expect(cairn("archive", db, "--once").status == 0)
        // The destination becomes unreachable: log 2 is closed but stays in its online group.
        try FileManager.default.moveItem(atPath: dest, toPath: dest + ".kept")
        try FileSystem.atomicWrite(Array("not a directory".utf8), to: dest)
        Ledger.write(db, 70, seed: 2)
        _ = cairn("archive", db, "--once")
        // Log 3: the current online log, still open.
        Ledger.write(db, 70, seed: 3)
        let open = try Catalog.open(database: db, logger: quietLogger).archiveOnce(switchLog: false)
        #expect(open.scn == 200)

        // Log 1's group was reused by log 3: while the destination is away, log 1 is nowhere.
        let away = try #require(json(cairn("status", db, "--json")))
        #expect(away["capturedScn"] as? Int == 200 && away["archivedScn"] as? Int == 60 && away["recoverableScn"] as? Int == 0, "\(away)")
        let missing = try #require(away["recoveryShortfall"] as? [String: Any])
        #expect(missing["cause"] as? String == "missing-log" && missing["transactions"] as? Int == 200, "\(missing)")
        #expect((missing["reason"] as? String)?.contains("log sequence 1 ") == true && (missing["reason"] as? String)?.contains(dest) == true)

        let source = try ContentDigest.compute(db)
        hold.release()
        Self.deleteDatabase(db)
        FileSystem.removeFile(dest)
        try FileManager.default.moveItem(atPath: dest + ".kept", toPath: dest)
        let st = try #require(json(cairn("status", db, "--json")))
        #expect(st["capturedScn"] as? Int == 200 && st["archivedScn"] as? Int == 60, "\(st)")
        #expect(st["recoverableScn"] as? Int == 200 && st["recoveryShortfall"] == nil, "\(st)")

        // Into a new file: every captured transaction, and it says so.
        let out = dir.file("restored.db")
        let r = cairn("restore", db, "--to", out)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("database at SCN 200") && r.stdout.contains("complete recovery") && r.stdout.contains("integrity_check"), "\(r.stdout)")
        #expect(try ContentDigest.compute(out) == source)
        #expect(cairn("digest", out).stdout.hasPrefix(source.digest))
        #expect(Self.leftovers(in: dir.path).isEmpty)

        // --latest means the same; --json carries the same answer.
        let latest = try #require(json(cairn("restore", db, "--to", dir.file("latest.db"), "--latest", "--json")))
        #expect(latest["scn"] as? Int == 200 && latest["complete"] as? Bool == true && latest["capturedScn"] as? Int == 200, "\(latest)")
        #expect(latest["target"] as? String == "complete" && latest["integrityChecked"] as? Bool == true && latest["shortfall"] == nil)

        // From the repository alone.
        let alone = dir.file("alone.db")
        let a = cairn("restore", "--repo", p.layout.root, "--to", alone)
        #expect(a.status == 0 && a.stdout.contains("complete recovery"), "\(a.stdout)\(a.stderr)")
        #expect(try ContentDigest.compute(alone) == source)

        // In place of the deleted database: the same point, no new incarnation.
        let inPlace = cairn("restore", db, "--in-place")
        #expect(inPlace.status == 0 && inPlace.stdout.contains("database at SCN 200"), "\(inPlace.stdout)\(inPlace.stderr)")
        #expect(try ContentDigest.compute(db) == source)
        #expect(try Catalog.open(database: db, logger: quietLogger).listIncarnations().count == 1)
    }

    // MARK: - (2) A gap: as far as recovery reaches, and why

    @Test func aGapStopsTheDefaultRestoreAtTheLastReachablePointAndSaysWhy() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(200, seed: 3)
        let first = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        #expect(cairn("archive", s.db, "--once").status == 0)
        first.release()
        // Written while no capture runs; sqlite3 checkpoints and removes the WAL as it exits.
        Ledger.write(s.db, 5, seed: 8)
        #expect(cairn("archive", s.db, "--once").status == 0)
        let second = WALHold(s.db)
        Ledger.write(s.db, 100, seed: 11)
        #expect(cairn("archive", s.db, "--once").status == 0)
        second.release()
        let gap = try #require(try Catalog.open(database: s.db, logger: quietLogger).control.redo.gaps.first)
        #expect(gap.scn == 201)

        // Status: captured 301, archived 301, recoverable 200, and why.
        let st = try #require(json(cairn("status", s.db, "--json")))
        #expect(st["capturedScn"] as? Int == 301 && st["archivedScn"] as? Int == 301 && st["recoverableScn"] as? Int == 200, "\(st)")
        let why = try #require(st["recoveryShortfall"] as? [String: Any])
        #expect(why["cause"] as? String == "gap" && why["transactions"] as? Int == 100 && why["fromScn"] as? Int == 201 && why["toScn"] as? Int == 301, "\(why)")
        #expect((why["reason"] as? String)?.contains(gap.detail) == true && (why["action"] as? String)?.contains("level-0 backup") == true)
        let text = cairn("status", s.db).stdout
        #expect(text.contains("301 captured, 301 archived, 200 recoverable") && text.contains("stops short"), "\(text)")

        // The default restore and --latest go to SCN 200 and report the 100 left out.
        let expected = try s.expectedDigest(after: 200, of: statements)
        let out = s.dir.file("default.db")
        let r = cairn("restore", s.db, "--to", out)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("database at SCN 200") && r.stdout.contains("INCOMPLETE") && r.stdout.contains("100 captured transaction(s) left out, SCN 201 to 301"), "\(r.stdout)")
        #expect(r.stdout.contains(gap.detail) && r.stdout.contains("level-0 backup"), "\(r.stdout)")
        #expect(try ContentDigest.compute(out).digest == expected)
        let latest = try #require(json(cairn("restore", s.db, "--to", s.dir.file("latest.db"), "--latest", "--json")))
        #expect(latest["scn"] as? Int == 200 && latest["complete"] as? Bool == false, "\(latest)")
        let short = try #require(latest["shortfall"] as? [String: Any])
        #expect(short["cause"] as? String == "gap" && short["transactions"] as? Int == 100 && short["fromScn"] as? Int == 201 && short["toScn"] as? Int == 301)
        #expect(try ContentDigest.compute(s.dir.file("latest.db")).digest == expected)

        // An explicit target beyond the gap fails, naming the newest reachable point.
        let beyond = cairn("restore", s.db, "--to", s.dir.file("x.db"), "--scn", "250")
        #expect(beyond.status != 0 && beyond.stderr.contains("never captured") && beyond.stderr.contains("SCN 200"), "\(beyond.stderr)")
        #expect(!FileSystem.exists(s.dir.file("x.db")))

        // A new level-0 backup starts a chain past the gap: recoverable catches up.
        #expect(cairn("backup", s.db).status == 0)
        let after = try #require(json(cairn("status", s.db, "--json")))
        #expect(after["recoverableScn"] as? Int == 301 && after["capturedScn"] as? Int == 301 && after["recoveryShortfall"] == nil, "\(after)")
        let reopened = try Catalog.open(database: s.db, logger: quietLogger)
        let all = try reopened.recover(to: s.dir.file("all.db"), target: .complete)
        #expect(all.complete && all.scn == 301)
        #expect(try ContentDigest.compute(s.dir.file("all.db")) == (try ContentDigest.compute(s.db)))
    }

    /// In place of a live database, complete recovery first captures what is committed in it
    /// (here 10 transactions still only in the WAL), so nothing is left on an abandoned branch.
    @Test func inPlaceCompleteRecoveryCapturesWhatIsCommittedFirst() throws {
        // The database is only read by other processes: this one would keep a descriptor of
        // it open (`SharedFiles`), and an in-place restore refuses a database open elsewhere.
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        #expect(cairn("init", db).status == 0 && cairn("backup", db).status == 0)
        let hold = WALHold(db)
        Ledger.write(db, 20, seed: 5)
        #expect(cairn("archive", db, "--once").status == 0)
        Ledger.write(db, 10, seed: 6)
        hold.release()
        let source = try #require(cairn("digest", db).stdout.split(separator: " ").first.map(String.init))
        let r = cairn("restore", db, "--in-place")
        #expect(r.status == 0 && r.stdout.contains("database at SCN 30") && r.stdout.contains("complete recovery"), "\(r.stdout)\(r.stderr)")
        #expect(try ContentDigest.compute(db).digest == source)
        #expect(try Catalog.open(database: db, logger: quietLogger).listIncarnations().count == 1)
    }

    /// Status and the restore plan the same way: what status calls recoverable is where the
    /// restore goes, for every backup and log layout these tests make.
    @Test func statusAndRestoreAgreeOnTheRecoverablePoint() throws {
        let s = try RedoTests.Setup()
        #expect(s.p.recoveryReach.recoverableScn == nil && s.p.recoveryReach.shortfall?.cause == .noBackup)
        try s.p.backup(.quiet())
        let hold = WALHold(s.db)
        Ledger.write(s.db, 30, seed: 4)
        _ = try s.p.archiveOnce(switchLog: false)
        let reach = s.p.recoveryReach
        #expect(reach.capturedScn == 30 && reach.recoverableScn == 30 && reach.shortfall == nil)
        let r = try s.p.recover(to: s.dir.file("r.db"), target: .complete)
        #expect(r.scn == reach.recoverableScn && r.backupId == reach.backupId)
        hold.release()
    }

    // MARK: - (3) A database that fails integrity_check is never handed out

    /// Swaps two pages of a database file (both leaves of the transfers table).
    static func swapPages(_ path: String) throws {
        var bytes = try FileSystem.readAll(path)
        // (From the header's bytes: `DatabaseHeader.read` would keep the file open in this process.)
        let field = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = field == 1 ? 65536 : field
        let pages = bytes.count / pageSize
        let a = (pages - 3) * pageSize, b = (pages / 2) * pageSize
        let pageA = Array(bytes[a..<a + pageSize])
        bytes.replaceSubrange(a..<a + pageSize, with: bytes[b..<b + pageSize])
        bytes.replaceSubrange(b..<b + pageSize, with: pageA)
        try FileSystem.atomicWrite(bytes, to: path)
    }

    @Test func theIntegrityCheckRefusesADamagedDatabase() throws {
        let dir = TempDir()
        let good = dir.file("good.db"), bad = dir.file("bad.db")
        Ledger.create(good, filler: 3000)
        try FileManager.default.copyItem(atPath: good, toPath: bad)
        try Self.swapPages(bad)
        #expect(try IntegrityCheck.problems(in: good).isEmpty)
        let problems = try IntegrityCheck.problems(in: bad)
        #expect(!problems.isEmpty)
        let e = expectCairnError { try IntegrityCheck.require(bad, built: "backup 7 recovered to SCN 42", for: dir.file("dest.db")) }
        guard case .verificationFailed? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(ExitStatus.of(e!) == 4)
        #expect(e!.description.contains("backup 7 recovered to SCN 42") && e!.description.contains("integrity_check"))
        #expect(e!.description.contains(problems[0]) && e!.description.contains("--scn") && e!.description.contains("cairn validate"))
    }

    /// Cairn's checksums are all consistent (the backup holds exactly the damaged pages), yet
    /// the restore is refused: nothing at --to, the live database untouched.
    @Test func aBackupOfADamagedDatabaseIsNeverHandedOut() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 3000)
        #expect(cairn("init", db).status == 0)
        try Self.swapPages(db)
        #expect(cairn("backup", db).status == 0)
        let live = try FileSystem.readAll(db)
        for args in [["--to", dir.file("x.db")], ["--to", dir.file("x.db"), "--backup", "1"], ["--in-place"]] {
            let r = Shell.run([Paths.cairn, "restore", db] + args)
            #expect(r.status == 4, "\(args): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("backup 1 recovered to SCN") && r.stderr.contains("integrity_check"), "\(r.stderr)")
            #expect(!FileSystem.exists(dir.file("x.db")) && Self.leftovers(in: dir.path).isEmpty)
            #expect(try FileSystem.readAll(db) == live)
        }
        let alone = cairn("restore", "--repo", db + ".cairn", "--to", dir.file("y.db"))
        #expect(alone.status == 4 && !FileSystem.exists(dir.file("y.db")), "\(alone.stderr)")
        // A copy holding the same damaged state is not cataloged either.
        let copy = dir.file("copy.db")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        let added = cairn("catalog", "add", db, copy)
        #expect(added.status == 4 && added.stderr.contains("integrity_check") && added.stderr.contains("Nothing was recorded"), "\(added.stdout)\(added.stderr)")
        #expect(try Catalog.open(database: db, logger: quietLogger).backups.count == 1)
        #expect(FileSystem.list(db + ".cairn/backups").count == 1)
    }

    /// A logged transaction that leaves the database unsound (its schema rewritten so an
    /// index no longer matches its table, committed by the sqlite3 shell and captured like any
    /// other): recovery to it is refused, naming the SCN; the point before it restores.
    @Test func recoveryThroughAnUnsoundTransactionIsRefusedNamingTheSCN() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let hold = WALHold(s.db)
        Ledger.write(s.db, 10, seed: 2)
        let sql = """
        CREATE INDEX transfers_amount ON transfers(amount);
        PRAGMA writable_schema=ON;
        UPDATE sqlite_schema SET sql='CREATE INDEX transfers_amount ON transfers(src)' WHERE name='transfers_amount';
        """
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: sql).status == 0)
        #expect(cairn("archive", s.db, "--once").status == 0)
        hold.release()
        let r = cairn("restore", s.db, "--to", s.dir.file("x.db"))
        #expect(r.status == 4 && r.stderr.contains("SCN 12") && r.stderr.contains("missing from index"), "\(r.stdout)\(r.stderr)")
        #expect(!FileSystem.exists(s.dir.file("x.db")) && Self.leftovers(in: s.dir.path).isEmpty)
        let before = cairn("restore", s.db, "--to", s.dir.file("eleven.db"), "--scn", "11")
        #expect(before.status == 0, "\(before.stderr)")
        #expect(Ledger.check(s.dir.file("eleven.db")).integrity == "ok")
    }

    // MARK: - (4) The check leaves nothing beside the file

    @Test func theIntegrityCheckCreatesNoWALOrSharedMemoryFileAndChangesNothing() throws {
        let dir = TempDir()
        let source = dir.file("src.db")
        Ledger.create(source, filler: 500)
        // A path SQLite's URI syntax would misread unless encoded.
        let odd = dir.file("a dir?x=1#%")
        try FileSystem.makeDirectories(odd)
        let built = odd + "/built.db"
        try FileManager.default.copyItem(atPath: source, toPath: built)
        #expect(try DatabaseHeader.read(built).isWAL)
        let before = try FileSystem.readAll(built)
        #expect(try IntegrityCheck.problems(in: built).isEmpty)
        #expect(FileSystem.list(odd) == ["built.db"])
        #expect(try FileSystem.readAll(built) == before)
        // And a restore leaves nothing beside what it hands out.
        let db = dir.file("app.db")
        Ledger.create(db, filler: 500)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        let out = odd + "/restored.db"
        let r = try p.recover(to: out, target: .complete)
        #expect(r.integrityChecked && r.complete)
        #expect(FileSystem.list(odd).sorted() == ["built.db", "restored.db"])
    }
}
