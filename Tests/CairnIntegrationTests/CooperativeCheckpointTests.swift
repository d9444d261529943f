@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Invariant 9: the application's own checkpoints, of any mode, complete while capture runs
/// as they would without Cairn, return SQLITE_OK, and lose nothing.
@Suite struct CooperativeCheckpointTests {
    /// Finding: a writer running `wal_checkpoint(TRUNCATE)` every 40 transactions waited for
    /// its whole busy timeout at each checkpoint while `archive --follow` ran, then got BUSY.
    @Test(arguments: ["TRUNCATE", "RESTART", "FULL", "PASSIVE"])
    func applicationCheckpointsCompleteWhileCaptureRuns(mode: String) throws {
        let h = try CaptureHarness(name: "ckpt\(mode)", count: 400)
        let follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        let t0 = Date()
        let rows = h.write(h.script(0..<400, checkpoint: mode, every: 40, busyTimeoutMs: 3000))
        let elapsed = Date().timeIntervalSince(t0)
        #expect(rows.count == 10)
        for (i, r) in rows.enumerated() {
            #expect(r.busy == 0, "checkpoint \(i) (\(mode)) returned SQLITE_BUSY: \(r)")
            if mode == "TRUNCATE" { #expect(r.log == 0 && r.done == 0, "checkpoint \(i): \(r)") }
            if mode == "RESTART" || mode == "FULL" { #expect(r.log == r.done, "checkpoint \(i): \(r)") }
        }
        // Ten checkpoints that each waited for the busy timeout would take 30 s; this is a
        // correctness bound, not a speed target (that is in docs/benchmarks.md).
        #expect(elapsed < 15, "the writer took \(elapsed) s")
        #expect(h.waitCaptured(400))
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        try h.expectNothingLost(total: 400, scns: [40, 199, 321])
    }

    /// With the application's own automatic checkpoints (and no explicit ones), the WAL stays
    /// bounded while capture runs: the WAL is restarted once everything is captured.
    @Test func applicationAutoCheckpointsKeepTheWALBounded() throws {
        let h = try CaptureHarness(count: 3000)
        let follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        let maxWAL = WALSizeWatch(h.db + "-wal")
        h.write("PRAGMA wal_autocheckpoint=200;\n" + h.script(0..<3000, every: 0))
        let biggest = maxWAL.stop()
        #expect(h.waitCaptured(3000))
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        // 3000 transactions write about 9000 frames (36 MiB); the WAL must have been restarted
        // many times, so it never grows far past the larger of the two targets (4 MiB).
        #expect(biggest < 16 << 20, "the WAL grew to \(biggest) bytes")
        try h.expectNothingLost(total: 3000, scns: [1500])
    }
}

/// Samples the size of a file on a thread until stopped; returns the largest size seen.
final class WALSizeWatch: Sendable {
    private let stopping: StopRequest
    private let watching: JoinableThread<UInt64>

    init(_ path: String) {
        let stopping = StopRequest(signal: .none)
        self.stopping = stopping
        watching = JoinableThread(name: "WAL size watch") {
            var biggest: UInt64 = 0
            while !stopping.isRequested {
                biggest = max(biggest, FileSystem.fileSize(path) ?? 0)
                usleep(2_000)
            }
            return biggest
        }
    }

    func stop() -> UInt64 {
        stopping.request()
        return watching.join()
    }
}
