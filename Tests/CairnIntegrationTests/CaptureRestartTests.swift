@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Invariant 9, second half: while any Cairn capture process of the database lives, SQLite
/// cannot restart the WAL over frames that are not captured, whatever process is killed when.
@Suite struct CaptureRestartTests {
    /// Finding: guardian killed 1.5 s after it started, a new one killed 1.5 s later, a
    /// third started, while the application ran TRUNCATE checkpoints with a 60 s busy timeout:
    /// the orphaned worker "did not stop within 60 s", then a gap was recorded at SCN 1.
    /// Here the guardians die at random moments from their first instant (seeded).
    @Test func guardiansKilledAtAnyMomentLoseNothing() throws {
        var seed = TestSeed()
        let h = try CaptureHarness(count: 1200)
        var follow = h.startFollow()
        #expect(h.wait(20) { h.followLog.contains("capturing") }, "\(h.followLog)")
        let writer = Shell.start(["sqlite3", "-batch", h.db], input: h.script(0..<1200, busyTimeoutMs: 60_000))
        for _ in 0..<4 {
            // A uniformly random moment, from the guardian's first instant on.
            Thread.sleep(forTimeInterval: Double.random(in: 0...1.5, using: &seed.rng))
            kill(follow.processIdentifier, SIGKILL)
            follow.waitUntilExit()
            follow = h.startFollow()
        }
        // The last guardian takes over whatever orphan is left, promptly.
        #expect(h.wait(10) { h.workers().map(\.parent) == [follow.processIdentifier] }, "\(h.followLog)")
        let deadline = Date().addingTimeInterval(120)
        while writer.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!writer.isRunning, "the writer did not finish in 120 s (checkpoints stalled)")
        if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
        writer.waitUntilExit()
        #expect(h.waitCaptured(1200))
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        #expect(!h.followLog.contains("did not stop within"), "\(h.followLog)")
        try h.expectNothingLost(total: 1200, scns: [1, 600])
    }
}
