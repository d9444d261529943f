@testable import CairnCore
import Foundation
import Testing

/// Cairn holds SQLite's write lock only for moments: an application whose busy timeout is
/// 100 ms never gets SQLITE_BUSY because of it, during backups (level 0 and 1), log switches
/// and Cairn's own checkpoints; the longest hold is reported by `status --json`.
@Suite struct LockFootprintTests {
    /// A writer in another process committing as fast as it can with a 100 ms busy timeout,
    /// counting every "database is locked" it gets.
    static let writer = """
    import sqlite3, sys, time
    db, stop = sys.argv[1], sys.argv[2]
    c = sqlite3.connect(db, isolation_level=None, timeout=0.1)
    c.execute("PRAGMA busy_timeout=100")
    busy = commits = 0
    import os
    while not os.path.exists(stop):
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO transfers(src, dst, amount, note) VALUES (1, 2, 3, hex(randomblob(200)))")
            c.execute("COMMIT")
            commits += 1
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e): busy += 1
            else: raise
            try: c.execute("ROLLBACK")
            except Exception: pass
    print(commits, busy)
    """

    @Test func aWriterWithA100msBusyTimeoutNeverGetsBusy() throws {
        var redo = RedoOptions()
        redo.walTargetBytes = 256 << 10
        redo.logSizeBytes = 1 << 20
        let h = try CaptureHarness(count: 1, redo: redo)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        let stop = h.dir.file("stop")
        let script = h.dir.file("writer.py")
        try FileSystem.atomicWrite(Array(Self.writer.utf8), to: script)
        let out = Pipe()
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", script, h.db, stop]
        writer.standardOutput = out
        try writer.run()
        #expect(Await.captured(h.db, through: 50))
        for round in 0..<3 {
            for args in [["backup", h.db], ["backup", h.db, "--level", "1"], ["switch-log", h.db], ["backup", h.db, "--level", "1", "--cumulative"]] {
                let r = Shell.run([Paths.cairn] + args)
                #expect(r.status == 0, "round \(round) \(args): \(r.stderr)")
            }
        }
        try FileSystem.atomicWrite([], to: stop)
        writer.waitUntilExit()
        let result = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(result.count == 2 && result[0] > 100, "writer: \(result)")
        #expect(result.count == 2 && result[1] == 0, "the writer got SQLITE_BUSY \(result.last ?? -1) times")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        // The longest hold is reported, and short.
        let status = Shell.run([Paths.cairn, "status", h.db, "--json"])
        #expect(status.stdout.contains("\"writeLock\""), "\(status.stdout)")
        let holds = try #require(WriteLockHolds.read(h.p.layout), "Cairn's checkpoint never had to block writers: the test means nothing")
        print("write lock: \(holds.count) holds, longest \(holds.longestMs) ms (\(holds.operation)), writer \(result)")
        #expect(holds.longestMs < 100, "longest write-lock hold \(holds.longestMs) ms by \(holds.operation)")
    }
}
