import CairnCatalog
@testable import CairnEngines
import CairnFormats
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// A capture with nothing to follow rests (`CaptureLoop.Rest`): one thread of the process looks
/// at what inotify does not report for all of them (`RestingLooks`), which is what lets
/// hundreds run in one process; a commit, a wake-up or a stop still ends the wait at once, and
/// nothing committed meanwhile is missed.
@Suite struct QuietCaptureTests {
    @Test func aCommitOrAWakeEndsAQuietWaitAtOnce() throws {
        // (Without inotify a capture never rests: it looks every 250 ms.)
        try #require(InotifyHub.shared.descriptor >= 0, "no inotify instance for this process: \(InotifyHub.limits.problems())")
        let s = try RedoTests.Setup(filler: 200)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        try capturer.step()
        let loop = CaptureLoop(capturer: capturer, logger: quietLogger)
        func quiet() throws -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while !loop.isResting {
                if Date() > deadline { return false }
                try loop.round()
            }
            return true
        }
        for n in 1...3 {
            try #require(try quiet(), "the capture never came to rest")
            let before = capturer.scn
            Ledger.write(s.db, 1, seed: n)
            // The commit's write to the WAL ends the (2 s) wait: captured in the first round.
            let started = Date()
            try loop.round()
            #expect(Date().timeIntervalSince(started) < 1, "commit \(n) waited for the next look")
            #expect(capturer.scn == before + 1, "commit \(n) captured in the round it woke")
        }
        try #require(try quiet())
        let waker = loop.waker
        let started = Date()
        let thread = Thread { waker.wake() }
        thread.start()
        try loop.round()
        #expect(Date().timeIntervalSince(started) < 1, "a wake-up ends the quiet wait")
        try loop.stop()
        #expect(s.p.control.redo.archivedScn == capturer.scn)
    }

    @Test func aLookThatFindsAChangeWakesItsCaptureOnce() throws {
        let dir = TempDir()
        let watcher = WALWatcher(databasePath: dir.file("app.db"))
        let changed = Atomic(false)
        let looks = Atomic(0)
        _ = RestingLooks.shared.add(.init(look: {
            looks.add(1, ordering: .relaxed)
            return changed.load(ordering: .acquiring)
        }, waker: watcher.waker))
        changed.store(true, ordering: .releasing)
        let started = Date()
        // (Another test may wake every subscriber of the process meanwhile: wait again then.)
        repeat { _ = watcher.wait(timeoutMs: 30_000) } while looks.load(ordering: .relaxed) == 0 && Date().timeIntervalSince(started) < 15
        #expect(looks.load(ordering: .relaxed) > 0 && Date().timeIntervalSince(started) < 15,
                "woken by the look (every \(RestingLooks.interval) s), not at the end of the wait")
        // Woken once: the entry is gone, and is not looked at again. A second entry that never
        // finds a change tells when the looks thread has made two more passes.
        let seen = looks.load(ordering: .relaxed)
        let passes = Atomic(0)
        let sentinel = RestingLooks.shared.add(.init(look: { passes.add(1, ordering: .relaxed); return false }, waker: watcher.waker))
        defer { RestingLooks.shared.remove(sentinel) }
        #expect(Await.until(RestingLooks.interval * 5) { passes.load(ordering: .relaxed) >= 2 }, "the looks thread went on looking")
        #expect(looks.load(ordering: .relaxed) == seen)
    }

    @Test func aStopRequestCallsItsObserversUntilRemoved() {
        let stop = StopRequest(signal: .none)
        let calls = Atomic(0)
        let token = stop.observe { calls.add(1, ordering: .relaxed) }
        stop.request()
        #expect(calls.load(ordering: .relaxed) == 1)
        stop.removeObserver(token)
        stop.request()
        #expect(calls.load(ordering: .relaxed) == 1)
    }
}
