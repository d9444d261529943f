@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Cairn holds SQLite's write lock only for moments: an application whose busy timeout is
/// 100 ms never gets SQLITE_BUSY because of it, during backups (level 0 and 1), log switches
/// and Cairn's own checkpoints; the longest hold is reported by `status --json`.
@Suite struct LockFootprintTests {
    @Test func aWriterWithA100msBusyTimeoutNeverGetsBusy() throws {
        var redo = RedoOptions()
        redo.walTargetBytes = 256 << 10
        redo.logSizeBytes = 1 << 20
        let h = try CaptureHarness(count: 1, redo: redo)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        let report = try CooperativeBackupTests.withWriter(h, rows: 1000, seed: 5, checkpointEvery: 0) {
            #expect(Await.captured(h.db, through: 50))
            for round in 0..<3 {
                for args in [["backup", h.db], ["backup", h.db, "--level", "1"], ["switch-log", h.db], ["backup", h.db, "--level", "1", "--cumulative"]] {
                    let r = Shell.run([Paths.cairn] + args)
                    #expect(r.status == 0, "round \(round) \(args): \(r.stderr)")
                }
            }
        }
        #expect(report.commits > 100, "writer: \(report)")
        #expect(report.busy == 0, "the writer got SQLITE_BUSY \(report.busy) times")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        // The longest hold is reported, and short.
        let status = Shell.run([Paths.cairn, "status", h.db, "--json"])
        #expect(status.stdout.contains("\"writeLock\""), "\(status.stdout)")
        let holds = try #require(WriteLockHolds.read(h.p.layout), "Cairn's checkpoint never had to block writers: the test means nothing")
        print("write lock: \(holds.count) holds, longest \(holds.longestMs) ms (\(holds.operation)), writer \(report)")
        #expect(holds.longestMs < 100, "longest write-lock hold \(holds.longestMs) ms by \(holds.operation)")
    }
}
