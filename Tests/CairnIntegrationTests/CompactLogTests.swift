@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Logs written by capture store changes, not whole pages: far smaller than the WAL frames
/// they capture, and recovery through them gives the database back exactly.
@Suite struct CompactLogTests {
    @Test func logsAreSmallAndRecoveryIsExact() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(400, seed: 17)
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        let walBytes = FileSystem.fileSize(s.db + "-wal") ?? 0
        _ = try s.p.archiveOnce()
        holder.release()
        let logs = s.p.control.redo.logs
        let stored = logs.map(\.bytes).reduce(0, +)
        #expect(Double(stored) < 0.1 * Double(walBytes), "\(stored) bytes of logs for \(walBytes) bytes of WAL")

        let out = s.dir.file("r.db")
        _ = try s.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: statements.count, of: statements)))
    }

    /// A database that shrinks (VACUUM) and grows again: pages that come back are changes from
    /// zero pages, which recovery rebuilds even where the restored file still holds older
    /// pages past the database's end.
    @Test func shrinkingAndGrowingRecoverExactly() throws {
        let s = try RedoTests.Setup(filler: 3000)
        try s.p.backup(.quiet())
        let statements = [
            "DELETE FROM transfers WHERE id % 3 <> 0;",
            "VACUUM;",
            "INSERT INTO transfers(src,dst,amount,note) SELECT src, dst, amount, note || 'again' FROM transfers;",
            "UPDATE accounts SET balance = balance + 1;",
        ]
        let holder = WALHold(s.db)
        for sql in statements { #expect(Shell.run(["sqlite3", "-batch", s.db], input: sql).status == 0, "\(sql)") }
        _ = try s.p.archiveOnce()
        holder.release()
        #expect(s.p.control.redo.gaps.isEmpty)
        for n in 1...statements.count {
            let out = s.dir.file("r-\(n).db")
            let r = Shell.run([Paths.cairn, "restore", s.db, "--scn", String(n), "--to", out])
            #expect(r.status == 0, "SCN \(n): \(r.stderr)")
            #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: n, of: statements)), "SCN \(n)")
        }
    }

    /// Finding: SQLite's automatic checkpoint (PASSIVE, run by the committing connection once
    /// the WAL holds its threshold of frames) copied frames capture had not read yet into the
    /// database file, over the version their changes are stored against, so those pages were
    /// stored whole (42 % of them on a 1 GiB database). Capture's read mark now holds copying
    /// back to what it has read. Rows of random bytes make a page stored whole cost about a
    /// page, a change a few dozen bytes.
    @Test func automaticCheckpointsLeaveChangesTheirBase() throws {
        let seed = TestSeed()
        let dir = TempDir()
        let db = dir.file("app.db")
        let setup = "PRAGMA journal_mode=WAL; CREATE TABLE blobs(id INTEGER PRIMARY KEY, n INTEGER, b BLOB);"
            + "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 3000) INSERT INTO blobs SELECT i, 0, randomblob(300) FROM k;"
        #expect(Shell.run(["sqlite3", db], input: setup).status == 0)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        let follow = Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>> \"$2\"", Paths.cairn, db, dir.file("follow.log")])
        #expect(Await.capture(of: db))
        var rng = seed.rng
        // Each commit waits until the one before is captured: capture then holds its pin
        // between commits, where a checkpoint finds it (the automatic one runs at every commit).
        let txns = 150
        for n in 1...txns {
            let update = "PRAGMA wal_autocheckpoint=1; UPDATE blobs SET n = n + 1 WHERE id = \(Int.random(in: 1...3000, using: &rng));"
            let r = Shell.run(["sqlite3", db], input: update)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(Await.captured(db, through: UInt64(n)))
        }
        kill(follow.processIdentifier, SIGTERM)
        follow.waitUntilExit()
        let control = try Catalog.open(database: db, logger: quietLogger).control
        #expect(control.redo.gaps.isEmpty)
        let perTxn = Double(control.redo.logs.map(\.bytes).reduce(0, +)) / Double(txns)
        print("log bytes per transaction: \(Int(perTxn))")
        #expect(perTxn < 1000, "\(Int(perTxn)) bytes of log per one-row transaction: pages went whole")

        let out = dir.file("r.db")
        let r = Shell.run([Paths.cairn, "restore", db, "--latest", "--to", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ContentDigest.compute(out).digest == (try ContentDigest.compute(db).digest))
    }
}
