import CairnCatalog
import Foundation
import Testing

/// The failures kept in the control file: one run of a checker opens, updates and closes them.
struct FailureLogTests {
    static func finding(_ key: String, _ priority: Failure.Priority = .high) -> FailureFinding {
        FailureFinding(key: key, priority: priority, summary: "summary of \(key)", affected: "/db")
    }

    @Test func aRunOpensUpdatesAndClosesTheFailuresOfItsChecker() {
        var log = FailureLog(failures: [], nextId: 1)
        let t0 = Date(timeIntervalSince1970: 1_000), t1 = t0.addingTimeInterval(60), t2 = t1.addingTimeInterval(60)
        let first = log.merge(checker: "a", found: [Self.finding("x"), Self.finding("y")], at: t0)
        let other = log.merge(checker: "b", found: [Self.finding("x", .low)], at: t0)
        #expect(first == [1, 2] && other == [3])
        // Found again: the same failure, seen later; no longer found: closed, with when and by what.
        let again = log.merge(checker: "a", found: [Self.finding("x", .critical)], at: t1, closedBy: "gone")
        #expect(again == [1])
        #expect(log.open.map(\.id) == [1, 3])
        let x = log.failures.first { $0.id == 1 }!
        #expect(x.priority == .critical && x.detectedAt == t0 && x.lastSeenAt == t1 && x.status == .open)
        let y = log.failures.first { $0.id == 2 }!
        #expect(y.status == .closed && y.closedAt == t1 && y.closedBy == "gone")
        // Found once more after being closed: a new failure, the old one stays in the history.
        let third = log.merge(checker: "a", found: [Self.finding("x"), Self.finding("y")], at: t2)
        #expect(third == [1, 4])
        let closed = log.close(id: 4, at: t2, by: "repair")
        let twice = log.close(id: 4, at: t2, by: "repair"), unknown = log.close(id: 99, at: t2, by: "repair")
        #expect(closed && !twice && !unknown)
    }

    @Test func closedFailuresAreKeptUpToALimitOpenOnesAlways() {
        var log = FailureLog(failures: [], nextId: 1)
        let start = Date(timeIntervalSince1970: 0)
        log.merge(checker: "keep", found: [Self.finding("k")], at: start)
        for i in 0..<(FailureLog.closedKept + 30) {
            let t = start.addingTimeInterval(Double(i + 1))
            log.merge(checker: "c", found: [Self.finding("f\(i)")], at: t)
            log.merge(checker: "c", found: [], at: t.addingTimeInterval(0.5))
        }
        #expect(log.failures.filter { $0.status == .closed }.count == FailureLog.closedKept)
        #expect(log.open.map(\.key) == ["k"])
        // The oldest closed ones went first.
        #expect(!log.failures.contains { $0.key == "f0" } && log.failures.contains { $0.key == "f\(FailureLog.closedKept + 29)" })
    }
}
