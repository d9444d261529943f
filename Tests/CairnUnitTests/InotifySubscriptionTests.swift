@testable import CairnEngines
import Foundation
import Synchronization
import Testing

/// The hub's thread delivers events without a lock and wakes the capture thread only when it
/// sleeps: a delivery racing the capture thread's last look before sleeping must still wake it
/// (a lost wake-up would leave a commit uncaptured until the wait's timeout).
@Suite struct InotifySubscriptionTests {
    /// Many deliveries, each at a random moment around the waiter's going to sleep: every wait
    /// ends at once with what was delivered, never at its timeout (a lost wake-up). The first
    /// wait that lasts a second ends the test.
    @Test func everyDeliveryEndsTheWaitItRaces() {
        var rng = SeededGenerator.announced("everyDeliveryEndsTheWaitItRaces")
        let s = InotifySubscription(databasePath: "/nonexistent/t.db")
        s.setWatched(true)
        let rounds = 3000
        let delays = (0..<rounds).map { _ in Int.random(in: 0...40, using: &rng) }
        let taken = DispatchSemaphore(value: 0)
        let missed = Atomic<Bool>(false)
        let hub = Thread {
            for d in delays where !missed.load(ordering: .relaxed) {
                Self.spin(microseconds: d)
                s.deliver(d % 3 == 0 ? .database : .wal, databaseWritten: d % 2 == 0)
                taken.wait()
            }
        }
        hub.start()
        for i in 0..<rounds {
            let started = MonotonicCondition.now()
            // Alternately the plain wait and the coalescing wait for a database write.
            let got = i % 2 == 0 || delays[i] % 2 != 0
                ? s.wait(timeoutMs: 3_000) != nil && { s.forgetDatabaseWrites(); return true }()
                : s.takeDatabaseWrite(timeoutMs: 3_000) && { _ = s.drain(); return true }()
            let waitedMs = (MonotonicCondition.now() - started) / 1_000_000
            if !got || waitedMs >= 1_000 {
                Issue.record("wait \(i) of \(rounds) ended after \(waitedMs) ms\(got ? "" : " with nothing")")
                missed.store(true, ordering: .relaxed)
                taken.signal()
                return
            }
            taken.signal()
        }
    }

    /// An interruption ends a wait, and a wait for a database write while unwatched.
    @Test func anInterruptionEndsTheWait() {
        let s = InotifySubscription(databasePath: "/nonexistent/t.db")
        s.setWatched(true)
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { s.interrupt() }
        #expect(s.wait(timeoutMs: 10_000) == nil)
        s.setWatched(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { s.interrupt() }
        #expect(!s.takeDatabaseWrite(timeoutMs: 10_000))
        #expect(Date().timeIntervalSince(started) < 9)
    }

    private static func spin(microseconds: Int) {
        let end = MonotonicCondition.now() + UInt64(microseconds) * 1_000
        while MonotonicCondition.now() < end {}
    }
}
