@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// `cairn catalog add`: copies made outside Cairn, consistent or torn, registered as image
/// copies at the SCN whose state they hold; files that match nothing are refused.
@Suite struct CatalogAddTests {
    /// Writes `statements` from another process and captures and archives them.
    static func write(_ s: RedoTests.Setup, _ statements: ArraySlice<String>) throws {
        let hold = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        _ = try s.p.archiveOnce()
        hold.release()
    }

    /// Copies the database file as `cp` would once SQLite has checkpointed everything into it.
    static func idleCopy(_ s: RedoTests.Setup, to path: String) {
        #expect(Shell.run(["sqlite3", s.db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
        #expect(Shell.run(["cp", s.db, path]).status == 0)
    }

    static func fileHash(_ path: String) throws -> String { Hash.hex(try FileSystem.hashFile(path)) }

    @Test func consistentCopyOfAnIdleDatabase() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(40, seed: 21)
        try Self.write(s, statements[0..<25])
        let copy = s.dir.file("copy.db")
        Self.idleCopy(s, to: copy)
        try Self.write(s, statements[25...])
        let hash = try Self.fileHash(copy)

        let r = Shell.run([Paths.cairn, "catalog", "add", s.db, copy, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["consistent"] as? Bool == true)
        #expect(json["scn"] as? Int == 25)
        let id = try #require((json["backupId"] as? Int).map(UInt64.init))
        #expect(try Self.fileHash(copy) == hash, "the copy must not be changed")

        let p = try Catalog.open(database: s.db, logger: quietLogger)
        let b = try #require(p.control.backups.first { $0.id == id })
        #expect(b.kind == .imageCopy && b.level == 0 && b.scn == 25 && b.tag == "cataloged:" + FileSystem.absolute(copy))
        #expect(try p.validate(backup: id).allSatisfy(\.ok))
        // Restored as it is, and as the start of a recovery to a later SCN.
        let out = s.dir.file("as-is.db")
        try p.restore(to: out, backup: id)
        #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: 25, of: statements)))
        let later = try p.recover(to: s.dir.file("later.db"), target: .scn(40), backup: id)
        #expect(later.backupId == id && later.scn == 40)
        #expect(try ContentDigest.compute(s.dir.file("later.db")) == (try ContentDigest.compute(s.db)))
    }

    @Test func tornCopyIsMadeConsistentWithTheLogs() throws {
        let s = try RedoTests.Setup()
        let first = try s.p.backup(.quiet())
        // A table at the end of the file, written only by transaction 60; transfers (they
        // change the accounts at the front of the file and append at its end); then plain
        // inserts (only the end). Each batch goes into a log of its own.
        let plain = { (i: Int) in "INSERT INTO transfers(src, dst, amount, note) VALUES(0, 0, 0, 'plain \(i)');" }
        let statements = ["CREATE TABLE late(x);"] + Ledger.transferStatements(44, seed: 22) + (45..<59).map(plain)
            + ["INSERT INTO late VALUES('written by transaction 60 only');"] + (60..<80).map(plain)
        try Self.write(s, statements[0..<30])
        let older = s.dir.file("older.db")
        Self.idleCopy(s, to: older)
        try Self.write(s, statements[30..<45])
        try Self.write(s, statements[45..<60])
        let newer = s.dir.file("newer.db")
        Self.idleCopy(s, to: newer)
        try Self.write(s, statements[60...])
        #expect(s.p.control.redo.logs.map(\.highScn) == [30, 45, 60, 80])
        #expect(try ContentDigest.compute(older).digest == (try s.expectedDigest(after: 30, of: statements)))
        #expect(try ContentDigest.compute(newer).digest == (try s.expectedDigest(after: 60, of: statements)))

        // The first half of the pages from the older copy, the rest from the newer: a copy
        // read front to back while transactions 31-60 committed, finished when the newer one
        // was. (Its state can only be a logged one from SCN 60 on: the table `late`, in the
        // second half, holds the row of transaction 60.)
        let a = try FileSystem.readAll(older), b = try FileSystem.readAll(newer)
        let pageSize = 4096
        let half = (b.count / pageSize / 2) * pageSize
        #expect(a.count >= half && a[0..<half] != b[0..<half], "the two copies differ in the first half")
        let latePage = Int(Shell.run(["sqlite3", "-readonly", newer, "SELECT rootpage FROM sqlite_master WHERE name = 'late'"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(latePage > half / pageSize)
        let torn = s.dir.file("torn.db")
        FileManager.default.createFile(atPath: torn, contents: Data(a[0..<half] + b[half...]))
        #expect(Shell.run(["touch", "-r", newer, torn]).status == 0)
        let hash = try Self.fileHash(torn)

        let r = try s.p.catalogCopy(torn)
        #expect(!r.consistent)
        // Starting after SCN 45 (the log holding the copy's time) cannot repair the accounts
        // copied at SCN 30; the search steps back to the log before and succeeds.
        #expect(r.appliedFromScn == 30)
        #expect(r.scn == 60)
        #expect(r.transactionsApplied == 30)
        #expect(try Self.fileHash(torn) == hash, "the copy must not be changed")

        // Restored as it is: exactly the source's state at its SCN.
        let out = s.dir.file("as-is.db")
        try s.p.restore(to: out, backup: r.backupId)
        #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: Int(r.scn), of: statements)))
        let cli = Shell.run([Paths.cairn, "restore", s.db, "--to", s.dir.file("cli.db"), "--backup", String(r.backupId)])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(try ContentDigest.compute(s.dir.file("cli.db")).digest == (try s.expectedDigest(after: Int(r.scn), of: statements)))
        // And as the start of a recovery to a later SCN, equal to a recovery from the first backup.
        for n in [r.scn, 75, 80] {
            let viaCopy = try s.p.recover(to: s.dir.file("c\(n).db"), target: .scn(n), backup: r.backupId)
            #expect(viaCopy.backupId == r.backupId)
            _ = try s.p.recover(to: s.dir.file("f\(n).db"), target: .scn(n), backup: first.id)
            #expect(try ContentDigest.compute(s.dir.file("c\(n).db")) == (try ContentDigest.compute(s.dir.file("f\(n).db"))), "SCN \(n)")
        }
        #expect(try ContentDigest.compute(s.dir.file("c80.db")) == (try ContentDigest.compute(s.db)))
    }

    @Test func filesThatMatchNothingAreRefused() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        try Self.write(s, Ledger.transferStatements(20, seed: 23)[...])
        let backups = s.p.control.backups.count

        // Another database with the same page size: its state is nowhere in the logs.
        let other = s.dir.file("other.db")
        Ledger.create(other, filler: 300)
        let hash = try Self.fileHash(other)
        let r = Shell.run([Paths.cairn, "catalog", "add", s.db, other])
        #expect(r.status == 5)
        #expect(r.stderr.contains("cannot be cataloged") && r.stderr.contains("not a copy of"))
        #expect(try Self.fileHash(other) == hash)

        // Not SQLite; another page size; not whole pages; missing.
        let junk = s.dir.file("junk.db")
        FileManager.default.createFile(atPath: junk, contents: Data(repeating: 7, count: 8192))
        #expect(expectCairnError { _ = try s.p.catalogCopy(junk) }.map { if case .notSQLite = $0 { true } else { false } } == true)
        let big = s.dir.file("big-pages.db")
        #expect(Shell.run(["sqlite3", big, "PRAGMA page_size=8192; CREATE TABLE t(x); INSERT INTO t VALUES(1);"]).status == 0)
        let e = expectCairnError { _ = try s.p.catalogCopy(big) }
        #expect(e?.description.contains("page size") == true && e.map(ExitStatus.of) == 5)
        let cut = s.dir.file("cut.db")
        let bytes = try FileSystem.readAll(s.db)
        FileManager.default.createFile(atPath: cut, contents: Data(bytes[0..<(bytes.count - 100)]))
        #expect(expectCairnError { _ = try s.p.catalogCopy(cut) }?.description.contains("whole number") == true)
        #expect(Shell.run([Paths.cairn, "catalog", "add", s.db, s.dir.file("absent.db")]).status == 3)

        // Nothing was recorded, nothing left behind in the repository.
        let p = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(p.control.backups.count == backups)
        #expect(FileSystem.list(p.layout.backupsDirectory).filter { $0.hasPrefix(".") }.isEmpty)
    }
}
