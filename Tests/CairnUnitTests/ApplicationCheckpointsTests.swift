@testable import CairnEngines
import Foundation
import Testing

/// When capture leaves checkpoints to the application: from the moment it begins following,
/// and after each checkpoint of the application for twice the interval between two of them.
@Suite struct ApplicationCheckpointsTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test func nothingIsExpectedOfAnApplicationNotFollowed() {
        #expect(!ApplicationCheckpoints().expected(at: t0))
    }

    @Test func theApplicationGetsTheFirstSecondsToShowItCheckpoints() {
        var a = ApplicationCheckpoints()
        a.begin(at: t0)
        #expect(a.expected(at: t0.addingTimeInterval(9)))
        #expect(!a.expected(at: t0.addingTimeInterval(11)))
    }

    @Test func theWindowFollowsTheApplicationsInterval() {
        var a = ApplicationCheckpoints()
        a.begin(at: t0)
        a.seen(at: t0.addingTimeInterval(30))
        a.seen(at: t0.addingTimeInterval(30.1))  // the same checkpoint, seen again
        a.seen(at: t0.addingTimeInterval(60))
        // 30 s apart: expected for 60 s after the last one.
        #expect(a.expected(at: t0.addingTimeInterval(115)))
        #expect(!a.expected(at: t0.addingTimeInterval(125)))
        // Never more than 2 min, never less than 10 s.
        a.seen(at: t0.addingTimeInterval(600))
        #expect(!a.expected(at: t0.addingTimeInterval(600 + 121)))
        a.seen(at: t0.addingTimeInterval(601))
        #expect(a.expected(at: t0.addingTimeInterval(601 + 9)))
    }

    /// Capture holds checkpoints back with its read mark unless the application runs
    /// checkpoints that block writers (they would wait for the mark): only those count here,
    /// not the application's automatic (PASSIVE) ones, nor the first seconds of following.
    @Test func onlyBlockingCheckpointsAreExpectedToWaitForCapture() {
        var a = ApplicationCheckpoints()
        a.begin(at: t0)
        a.seen(at: t0.addingTimeInterval(1))
        #expect(!a.blockingExpected(at: t0.addingTimeInterval(2)))
        a.seenBlocking(at: t0.addingTimeInterval(20))
        #expect(a.blockingExpected(at: t0.addingTimeInterval(25)))
        #expect(a.expected(at: t0.addingTimeInterval(25)), "a blocking checkpoint is a checkpoint")
        a.seenBlocking(at: t0.addingTimeInterval(40))
        // Expected for the longest window (2 min) after the last one, whatever their interval.
        #expect(a.blockingExpected(at: t0.addingTimeInterval(159)))
        #expect(!a.blockingExpected(at: t0.addingTimeInterval(161)))
    }
}
