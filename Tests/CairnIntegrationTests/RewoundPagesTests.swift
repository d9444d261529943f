import Foundation
import Testing
import CairnFormats
import CairnCatalog
@testable import CairnEngines
import CairnTestSupport

/// Flashback takes the pages it rewrites back from the live database through the changes the
/// logs recorded after the target (`RewoundPages`); pages stored whole after the target, or cut
/// off by a shrink, come forwards from the backup. Every page must equal a restore to the target.
@Suite(.serialized) struct RewoundPagesTests {
    /// Ledger transfers (small changes), then, after the target, big rows rewritten whole,
    /// rows deleted and a VACUUM that shrinks the file; all written by `sqlite3` while capture runs.
    /// With `checkpoint`, the WAL is checkpointed into the file and emptied at the end; else
    /// the last transactions stay in the WAL.
    static func prepared(checkpoint: Bool = true) throws -> (CaptureHarness, target: UInt64, latest: UInt64) {
        let h = try CaptureHarness(count: 120)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        let big = "CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB);\n"
            + "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) INSERT INTO big SELECT i, randomblob(3000) FROM n;\n"
        _ = h.write(h.script(0..<60) + big)
        #expect(h.waitCaptured(62), "\(h.followLog)")
        let after = "UPDATE big SET b = randomblob(3000) WHERE id % 2 = 0;\nDELETE FROM big WHERE id > 30;\nVACUUM;\n"
        _ = h.write(h.script(60..<120) + after)
        #expect(h.waitCaptured(125), "\(h.followLog)")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        if checkpoint { #expect(Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0) }
        return (h, 62, 125)
    }

    @Test func pagesTakenBackFromTheLiveDatabaseEqualARestoreToTheTarget() throws {
        let (h, target, latest) = try Self.prepared()
        let restored = h.dir.file("restore.db")
        _ = try h.p.recover(to: restored, target: .scn(target))
        let pageSize = h.p.control.backups[0].pageSize
        let expected = try TimeTravelTests.pageHashes(restored, pageSize: pageSize)

        let pages = try PointInTimePages(catalog: h.p, scn: target, through: latest, protect: false)
        let plan = FlashbackPlan(pages: pages, target: target, latest: latest)
        #expect(Int(plan.databasePages) == expected.count)
        // Batches of 7 pages: every batch rebuilt on its own, twice over (as the map pass and
        // the write pass of a flashback ask).
        let live = try LivePages(databasePath: h.db, pageSize: pageSize)
        let rewound = RewoundPages(pages: pages, target: target, rewrite: plan.rewrite, live: live, batchBytes: 7 * pageSize)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
        defer { buffer.deallocate() }
        for pass in 1...2 {
            for p in plan.rewrite {
                try rewound.read(p, into: buffer)
                #expect(Hash.page(buffer, size: pageSize, pgno: p) == expected[Int(p) - 1], "pass \(pass), page \(p)")
            }
        }
        #expect(rewound.rewound > 0, "some pages were taken back through XOR changes")
        #expect(rewound.forwards > 0, "some pages (stored whole, or cut off by the VACUUM's shrink) came from the backup")
    }

    @Test func flashbackAcrossWholePageRewritesAndAShrinkEqualsARestore() throws {
        let (h, target, _) = try Self.prepared()
        let restored = h.dir.file("restore.db")
        _ = try h.p.recover(to: restored, target: .scn(target))
        let r = try h.p.flashback(to: .scn(target))
        #expect(r.incarnation != nil && r.pages > 0)
        #expect(CloneTests.digest(h.db) == CloneTests.digest(restored))
        #expect(Shell.run(["sqlite3", h.db, "PRAGMA integrity_check;"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }

    /// The flashback's frames go after the last committed frame of the WAL as the application
    /// left it, nothing checkpointed: here a WAL restarted after a full checkpoint, so a short
    /// new generation (three transactions capture has not seen yet) lies before the stale
    /// frames of the VACUUM's. The pages are read through the new generation, the stale
    /// frames are overwritten, and the database SQLite then sees equals a restore.
    @Test func flashbackAppendsAfterTheFramesTheWALHolds() throws {
        let (h, target, _) = try Self.prepared(checkpoint: false)
        let restart = """
            import os, sqlite3, sys
            keep = sqlite3.connect(sys.argv[1]); keep.execute("SELECT count(*) FROM big").fetchall()
            w = sqlite3.connect(sys.argv[1], isolation_level=None)
            w.execute("PRAGMA wal_autocheckpoint=0")
            assert w.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
            for i in range(3): w.execute("INSERT INTO big VALUES (?, randomblob(100))", (1000 + i,))
            w.close()
            os._exit(0)  # no close of `keep`: nothing checkpoints the three transactions
            """
        let before = try WALFile.scan(path: h.db + "-wal")
        let r = Shell.run(["python3", "-c", restart, h.db])
        #expect(r.status == 0, "\(r.stderr)")
        let after = try WALFile.scan(path: h.db + "-wal")
        #expect(after.commits.count == 3 && after.header?.salt1 != before.header?.salt1, "a new WAL generation of three transactions")
        #expect((FileSystem.fileSize(h.db + "-wal") ?? 0) > WALScan.frameOffset(after.lastCommitFrame + 1, pageSize: after.header!.pageSize), "stale frames after it")

        let restored = h.dir.file("restore.db")
        _ = try h.p.recover(to: restored, target: .scn(target))
        let f = try h.p.flashback(to: .scn(target))
        #expect(f.from == 128 && f.incarnation != nil)
        let appended = try WALFile.scan(path: h.db + "-wal")
        #expect(appended.header?.salt1 == after.header?.salt1 && appended.commits.count == 4, "one commit appended to the generation")
        #expect(CloneTests.digest(h.db) == CloneTests.digest(restored))
        #expect(Shell.run(["sqlite3", h.db, "PRAGMA integrity_check;"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        // Undone: back to where it started, through the appended frames.
        _ = try h.p.flashback(to: .scn(128), incarnation: 1)
        #expect(Shell.run(["sqlite3", h.db, "SELECT count(*) FROM big WHERE id >= 1000;"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
    }
}
