@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The recovery advisor on the live database and capture, the failures `validate --live`
/// records, the command line (exit statuses, JSON, history across processes) and bad input.
@Suite struct AdvisorDatabaseTests {
    /// The database deleted: critical; the automatic repair names the backup and the logs
    /// the restore uses, and brings back every captured transaction.
    @Test func aMissingDatabaseIsRestoredByCompleteRecovery() throws {
        let f = try AdvisorFixture()
        try f.cycle(10)
        try f.cycle(10)
        let digest = try ContentDigest.compute(f.db)
        for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(f.db + suffix) }
        var r = try f.p.advise()
        let missing = try f.only(r, "database")
        #expect(missing.failure.key == "missing" && missing.failure.priority == .critical)
        let auto = try #require(missing.repair?.automatic)
        #expect(auto.description.contains("restore backup 1 (level 0, SCN 0)") && auto.description.contains("sequences 1–2 of incarnation 1") && auto.description.contains("SCN 20"), "\(auto.description)")
        #expect(try f.only(r, "capture").failure.priority == .critical)
        #expect(r.worst == .critical && r.open.first?.failure.priority == .critical)

        let done = try f.p.repair(failure: missing.failure.id)
        #expect(done.items.first?.fixed == true && done.items.first?.result == "restored backup 1 and recovered to SCN 20", "\(done.items)")
        #expect(try ContentDigest.compute(f.db) == digest)
        try f.captureRunning()
        r = try f.p.advise()
        #expect(r.open.isEmpty, "\(r.open.map(\.failure.summary))")
    }

    /// A damaged header: the file is no longer SQLite (critical); restored, the damaged file
    /// kept aside.
    @Test func aDatabaseWithADamagedHeaderIsRestored() throws {
        let f = try AdvisorFixture()
        try f.cycle(10)
        let digest = try ContentDigest.compute(f.db)
        // Everything in the file itself (a WAL holding page 1 would hide the damage from SQLite).
        #expect(Shell.run(["sqlite3", f.db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
        var bytes = try FileSystem.readAll(f.db)
        for i in 0..<16 { bytes[i] = 0x5A }
        let fd = open(f.db, O_WRONLY)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, 16, 0) }
        close(fd)
        let r = try f.p.advise()
        let bad = try f.only(r, "database")
        #expect(bad.failure.key == "not-sqlite" && bad.failure.priority == .critical && bad.failure.summary.contains("SQLite header"))
        #expect(bad.repair?.automatic?.action == "restore (complete recovery)")
        #expect(try f.p.repair(failure: bad.failure.id).items.first?.fixed == true)
        #expect(try ContentDigest.compute(f.db) == digest)
        let kept = try #require(FileSystem.list(f.dir.path).first { $0.hasPrefix("live.db.cairn-damaged-") }, "\(FileSystem.list(f.dir.path))")
        #expect(try FileSystem.readAll(f.dir.file(kept)).prefix(16) == bytes.prefix(16), "the damaged file is kept as it was")
    }

    /// Not in WAL mode: high, manual only; a WAL deleted under open connections: high.
    @Test func aDatabaseOutOfWALModeOrWithItsWALDeleted() throws {
        let f = try AdvisorFixture()
        #expect(Shell.run(["sqlite3", f.db, "PRAGMA journal_mode=DELETE;"]).stdout.contains("delete"))
        var r = try f.p.advise()
        let notWAL = try f.only(r, "database")
        #expect(notWAL.failure.key == "not-wal" && notWAL.failure.priority == .high)
        #expect(notWAL.repair?.automatic == nil && notWAL.repair?.manual.contains { $0.contains("PRAGMA journal_mode=WAL") } == true)
        let e = expectCairnError { _ = try f.p.repair(failure: notWAL.failure.id) }
        guard case .unrecoverable(let text)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(text.contains("PRAGMA journal_mode=WAL") && text.contains("Failure \(notWAL.failure.id)"))

        #expect(Shell.run(["sqlite3", f.db, "PRAGMA journal_mode=WAL;"]).stdout.contains("wal"))
        try f.captureRunning()
        FileSystem.removeFile(f.db + "-wal")
        r = try f.p.advise()
        let deleted = try f.only(r, "database")
        #expect(deleted.failure.key == "wal-deleted" && deleted.failure.priority == .high && deleted.failure.affected == f.db + "-wal")
        #expect(r.closed.first { $0.id == notWAL.failure.id }?.closedBy == "no longer found by advise")
    }

    /// Capture not running in ARCHIVELOG mode: critical, manual only; closed once it runs.
    @Test func captureNotRunningInArchiveLogModeIsCritical() throws {
        let f = try AdvisorFixture()
        var r = try f.p.advise()
        let capture = try f.only(r, "capture")
        #expect(capture.failure.priority == .critical && capture.repair?.automatic == nil)
        #expect(capture.repair?.manual.contains { $0.contains("cairn archive \(f.db) --follow") } == true)
        #expect(expectCairnError { _ = try f.p.repair(failure: capture.failure.id) }?.description.contains("cairn archive \(f.db) --follow") == true)
        try f.captureRunning()
        r = try f.p.advise()
        #expect(r.open.isEmpty)
        f.captureStopped()
        try f.p.setLogMode(.noarchivelog)
        #expect(try f.p.advise().open.isEmpty, "NOARCHIVELOG: capture is not expected")
    }

    /// Damaged pages of a live database another process writes to: `advise --live` finds them
    /// (critical, exit 11) and offers page repair as the automatic repair; `repair` runs it while
    /// the writer goes on and closes the failure; plain `advise` lists live-pages failures as
    /// they are and never closes them itself.
    @Test func damagedLivePagesAreFoundByAdviseAndRepairedByRepair() throws {
        let h = try CaptureHarness(count: 300, filler: 3000)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        let writer = Shell.start(["sqlite3", "-batch", h.db], input: h.script(0..<300, every: 40))
        #expect(h.waitCaptured(30))
        let leaves = PageDamage.leafPages(h.db, table: "transfers")
        let chosen = Array(leaves.prefix(leaves.count / 2).suffix(4))
        var rng = SeededGenerator(seed: 21)
        PageDamage.damage(h.db, pages: chosen, using: &rng)

        #expect(Shell.run([Paths.cairn, "advise", h.db]).status != 11, "without --live advise reads no page")
        let advised = Shell.run([Paths.cairn, "advise", h.db, "--live"])
        #expect(advised.status == 11, "\(advised.stdout) \(advised.stderr)")
        let r = try h.p.advise()
        let pages = try #require(r.open.first { $0.failure.checker == "live-pages" })
        #expect(pages.failure.priority == .critical && pages.failure.pages == chosen.sorted())
        #expect(pages.repair?.automatic?.description.contains("cairn repair pages \(h.db) --damaged") == true, "\(String(describing: pages.repair))")

        let repaired = Shell.run([Paths.cairn, "repair", h.db, "--failure", "\(pages.failure.id)"])
        #expect(repaired.status == 0, "\(repaired.stdout) \(repaired.stderr)")
        writer.waitUntilExit()
        let closed = try #require(try h.p.advise().closed.first { $0.id == pages.failure.id })
        #expect(closed.closedBy?.contains("repair") == true)
        let after = Shell.run([Paths.cairn, "advise", h.db, "--live"])
        #expect(after.status == 0, "\(after.stdout) \(after.stderr)")
        #expect(h.waitCaptured(301))
        #expect(try ContentDigest.compute(h.db).digest == (try h.expectedDigest(after: 300)))
    }

    /// While `archive --follow` captures a writer's transactions (small logs, so groups are
    /// reused and archived all the time), advise finds nothing wrong, again and again.
    @Test func aLiveCaptureUnderWritesHasNoFailure() throws {
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        redo.archiveTimeoutSeconds = 0.3
        let h = try CaptureHarness(count: 800, redo: redo)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        let writer = Shell.start(["sqlite3", "-batch", h.db], input: h.script(0..<800, every: 50))
        var looks = 0
        while writer.isRunning || looks < 3 {
            let r = try h.p.advise()
            #expect(r.open.isEmpty, "look \(looks): \(r.open.map(\.failure.summary))")
            looks += 1
        }
        writer.waitUntilExit()
        #expect(h.waitCaptured(800))
        #expect(try h.p.advise().open.isEmpty)
        #expect(h.p.control.redo.logs.count > 3, "logs switched while advise looked")
    }

    /// Exit statuses a monitor goes by: 0 healthy (or low only), 10 high, 11 critical; JSON;
    /// failures and their history kept across processes; unknown and closed ids are errors.
    @Test func theCommandLineExitStatusesJSONHistoryAndBadIds() throws {
        let f = try AdvisorFixture()
        let critical = f.cli("advise", f.db)
        #expect(critical.status == 11 && critical.stdout.contains("CRITICAL") && critical.stdout.contains("[capture]"), "\(critical.stdout) \(critical.stderr)")
        try f.captureRunning()
        let healthy = f.cli("advise", f.db)
        #expect(healthy.status == 0 && healthy.stdout.contains("no open failure"), "\(healthy.stdout) \(healthy.stderr)")

        let beside = f.p.control.controlCopies[0]
        FileSystem.removeFile(beside)
        let high = f.cli("advise", f.db, "--json")
        #expect(high.status == 10, "\(high.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(high.stdout.utf8)) as? [String: Any])
        #expect(json["worst"] as? String == "high")
        let open = try #require(json["open"] as? [[String: Any]])
        let failure = try #require(open.first?["failure"] as? [String: Any])
        #expect(failure["checker"] as? String == "control-copies" && failure["status"] as? String == "open")
        let repair = try #require(open.first?["repair"] as? [String: Any])
        #expect((repair["automatic"] as? [String: Any])?["action"] as? String == "rewrite control-file copy")
        let id = try #require(failure["id"] as? Int)
        #expect(f.recorded(UInt64(id))?.checker == "control-copies", "the failure was recorded by the other process")

        let preview = f.cli("repair", f.db, "--preview")
        #expect(preview.status == 0 && preview.stdout.contains("would rewrite control-file copy") && !FileSystem.exists(beside), "\(preview.stdout) \(preview.stderr)")
        let fixed = f.cli("repair", f.db, "--failure", String(id))
        #expect(fixed.status == 0 && fixed.stdout.contains("verified"), "\(fixed.stdout) \(fixed.stderr)")
        let history = f.cli("advise", f.db, "--all")
        #expect(history.status == 0 && history.stdout.contains("failure \(id)") && history.stdout.contains("closed") && history.stdout.contains("repair (automatic)"), "\(history.stdout)")

        let unknown = f.cli("repair", f.db, "--failure", "999")
        #expect(unknown.status == 64 && unknown.stderr.contains("No failure 999"), "\(unknown.stderr)")
        let closed = f.cli("repair", "database", f.db, "--failure", String(id))
        #expect(closed.status == 64 && closed.stderr.contains("is closed"), "\(closed.stderr)")

        // Low only: exit status 0, the failure listed.
        try f.p.backup(.quiet())
        FileSystem.removeTree(f.p.layout.backupDirectory(1))
        _ = try f.p.crosscheck()
        let low = f.cli("advise", f.db)
        #expect(low.status == 0 && low.stdout.contains("LOW") && low.stdout.contains("EXPIRED"), "\(low.stdout) \(low.stderr)")
    }
}
