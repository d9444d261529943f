@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// A backup never stands in the way of the application's checkpoints: while it reads, an
/// application that runs `wal_checkpoint(TRUNCATE)` every 40 transactions with a 100 ms busy
/// timeout gets neither SQLITE_BUSY nor a checkpoint that could not finish, and every backup
/// still holds exactly the database at its SCN (restored alone, it equals recovery to that
/// SCN from another backup and the logs).
@Suite struct CooperativeBackupTests {
    /// Commits as fast as it can with a 100 ms busy timeout, each transaction changing pages
    /// all over the database; a TRUNCATE checkpoint every EVERY commits (0: none). Prints one
    /// JSON line of what it saw.
    static let writer = """
    import sqlite3, sys, os, random, time, json
    db, stop, seed, rows, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    c = sqlite3.connect(db, isolation_level=None, timeout=0.1)
    c.execute("PRAGMA busy_timeout=100")
    busy = commits = 0
    checkpoints = []
    incomplete = 0
    while not os.path.exists(stop):
        try:
            c.execute("BEGIN IMMEDIATE")
            a, b, amt = rng.randint(1, 200), rng.randint(1, 200), rng.randint(1, 50)
            c.execute("UPDATE accounts SET balance=balance-? WHERE id=?", (amt, a))
            c.execute("UPDATE accounts SET balance=balance+? WHERE id=?", (amt, b))
            for _ in range(8):
                c.execute("UPDATE transfers SET amount=amount+1 WHERE id=?", (rng.randint(1, rows),))
            c.execute("INSERT INTO transfers(src, dst, amount, note) VALUES (?, ?, ?, hex(randomblob(100)))", (a, b, amt))
            c.execute("COMMIT")
            commits += 1
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e): busy += 1
            else: raise
            try: c.execute("ROLLBACK")
            except Exception: pass
        if every and commits % every == 0:
            t = time.monotonic()
            try:
                r = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if r[0] != 0:
                    incomplete += 1
                    shm = os.stat(db + "-shm").st_ino
                    held = [l.strip() for l in open("/proc/locks") if (":%d " % shm) in l]
                    print("incomplete checkpoint %s after %.3f s; locks on -shm: %s" % (r, time.monotonic() - t, held), file=sys.stderr)
            except sqlite3.OperationalError as e:
                busy += 1
            checkpoints.append(time.monotonic() - t)
    checkpoints.sort()
    print(json.dumps({"commits": commits, "busy": busy, "incomplete": incomplete, "checkpoints": len(checkpoints),
        "p50": checkpoints[len(checkpoints) // 2] if checkpoints else 0,
        "p99": checkpoints[len(checkpoints) * 99 // 100] if checkpoints else 0,
        "max": checkpoints[-1] if checkpoints else 0}))
    """

    struct WriterReport: Decodable {
        let commits, busy, incomplete, checkpoints: Int
        let p50, p99, max: Double
    }

    /// The writer above, run in another process while `body` runs; what it saw.
    static func withWriter(_ h: CaptureHarness, rows: Int, seed: UInt64, checkpointEvery: Int = 40,
                           _ body: () throws -> Void) throws -> WriterReport {
        let stop = h.dir.file("stop")
        let script = h.dir.file("writer.py")
        try FileSystem.atomicWrite(Array(Self.writer.utf8), to: script)
        // Files, not pipes: nothing reads while the writer runs, and a full pipe would stop it.
        let outPath = h.dir.file("writer.out"), errPath = h.dir.file("writer.err")
        try FileSystem.atomicWrite([], to: outPath)
        try FileSystem.atomicWrite([], to: errPath)
        guard let out = FileHandle(forWritingAtPath: outPath), let errors = FileHandle(forWritingAtPath: errPath) else {
            throw EngineError.io(operation: "open", path: outPath, errno: EIO)
        }
        defer { try? out.close(); try? errors.close() }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", script, h.db, stop, String(seed % 1_000_000), String(rows), String(checkpointEvery)]
        writer.standardOutput = out
        writer.standardError = errors
        try writer.run()
        defer {
            try? FileSystem.atomicWrite([], to: stop)
            writer.waitUntilExit()
        }
        try body()
        try FileSystem.atomicWrite([], to: stop)
        writer.waitUntilExit()
        let report = try JSONDecoder().decode(WriterReport.self, from: Data(contentsOf: URL(fileURLWithPath: outPath)))
        print("writer: \(report)")
        let diagnostics = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self)
        if !diagnostics.isEmpty { print(diagnostics.prefix(4000)) }
        return report
    }

    static func expectUndisturbed(_ report: WriterReport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.commits > 200, "\(report)", sourceLocation: sourceLocation)
        #expect(report.checkpoints >= 10, "\(report)", sourceLocation: sourceLocation)
        #expect(report.busy == 0, "the writer got SQLITE_BUSY \(report.busy) times: \(report)", sourceLocation: sourceLocation)
        #expect(report.incomplete == 0, "\(report.incomplete) TRUNCATE checkpoints could not finish: \(report)", sourceLocation: sourceLocation)
        #expect(report.max < 1.0, "an application checkpoint took \(report.max) s: \(report)", sourceLocation: sourceLocation)
    }

    /// Capture alone: every TRUNCATE checkpoint of a writer with a 100 ms busy timeout finishes.
    @Test func applicationCheckpointsWithA100msBusyTimeoutFinishWhileCaptureRuns() throws {
        let seed = TestSeed()
        let rows = 20_000
        let h = try CaptureHarness(count: 0, filler: rows)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        let start = h.p.redoStatus.scn
        let report = try Self.withWriter(h, rows: rows, seed: seed.value) {
            #expect(Await.captured(h.db, through: start + 1500, timeout: 60))
        }
        Self.expectUndisturbed(report)
        if report.incomplete > 0 { print(h.followLog) }
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        #expect(try Catalog.open(database: h.db, logger: quietLogger).control.redo.gaps.isEmpty)
    }

    /// Finding: while a backup read, the application's TRUNCATE checkpoints waited for their
    /// busy timeout and could not finish (the backup's SQLite read transaction held a reader slot).
    @Test func applicationCheckpointsGoOnWhileBackupsRead() throws {
        let seed = TestSeed()
        let rows = 200_000
        var redo = RedoOptions()
        redo.walTargetBytes = 1 << 20
        let h = try CaptureHarness(count: 0, filler: rows, redo: redo)
        let first = try #require(h.p.control.restorableBackups.last)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        var ids: [UInt64] = []
        let report = try Self.withWriter(h, rows: rows, seed: seed.value) {
            #expect(Await.captured(h.db, through: first.scn + 100))
            // Slow compression makes each backup read for seconds, many checkpoints long.
            for args in [["backup", h.db, "--compression", "12"], ["backup", h.db, "--level", "1"], ["backup", h.db, "--compression", "12"], ["backup", h.db, "--as-copy"]] {
                let r = Shell.run([Paths.cairn] + args + ["--json"], environment: ProcessInfo.processInfo.environment)
                if !r.stderr.isEmpty { print(r.stderr) }
                #expect(r.status == 0, "\(args): \(r.stderr)")
                if let id = Self.backupId(r.stdout) { ids.append(id) }
            }
        }
        Self.expectUndisturbed(report)
        if report.incomplete > 0 { print(h.followLog) }
        #expect(h.stop(follow) == 0, "\(h.followLog)")

        // Each backup restored alone equals recovery to its SCN through the first backup and the logs.
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(p.control.redo.gaps.isEmpty)
        for id in ids {
            let b = try #require(p.control.backups.first { $0.id == id })
            let alone = h.dir.file("alone-\(id).db"), viaLogs = h.dir.file("logs-\(id).db")
            let r1 = Shell.run([Paths.cairn, "restore", h.db, "--backup", String(id), "--to", alone])
            #expect(r1.status == 0, "backup \(id): \(r1.stderr)")
            let r2 = Shell.run([Paths.cairn, "restore", h.db, "--backup", String(first.id), "--scn", String(b.scn), "--to", viaLogs])
            #expect(r2.status == 0, "backup \(first.id) to SCN \(b.scn): \(r2.stderr)")
            #expect(Ledger.check(alone).integrity == "ok")
            #expect(try ContentDigest.compute(alone) == (try ContentDigest.compute(viaLogs)), "backup \(id) at SCN \(b.scn)")
        }
    }

    static func backupId(_ json: String) -> UInt64? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        return (o["id"] as? NSNumber)?.uint64Value
    }
}
