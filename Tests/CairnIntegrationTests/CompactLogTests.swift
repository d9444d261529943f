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
}
