import Foundation
import Synchronization

/// One thread that looks, every `interval`, at what inotify does not report for every capture
/// of the process that rests (see `CaptureLoop.Rest`): a WAL index that changed without a write
/// (an event missed), a checkpoint holding its lock, a control file changed by another process.
/// A look that finds a change wakes its capture, which makes a full round.
///
/// A capture waking itself for each look would cost the process a thread wake-up per capture
/// every 2 s (a timer, a context switch: on a virtual machine, tens of µs each); with the looks
/// here, a resting capture sleeps until its next full round (`CaptureLoop.restingRoundMs`) and
/// the process wakes once per `interval`, whatever the number of captures.
final class RestingLooks: Sendable {
    static let shared = RestingLooks()
    static let interval: TimeInterval = 2

    /// A resting capture: what to look at (true: something changed) and how to wake it.
    struct Entry: Sendable {
        let look: @Sendable () -> Bool
        let waker: WALWatcher.Waker
    }

    private let condition = MonotonicCondition()
    private let entries = Mutex<(next: Int, all: [Int: Entry])>((0, [:]))

    private init() {
        let thread = Thread { [self] in
            Thread.current.name = "cairn looks"
            run()
        }
        thread.stackSize = 1 << 18
        thread.start()
    }

    /// Looks after `entry` until `remove` with the number returned, or until a look wakes it.
    func add(_ entry: Entry) -> Int {
        let (id, first) = entries.withLock { e in
            e.next += 1
            e.all[e.next] = entry
            return (e.next, e.all.count == 1)
        }
        // The thread sleeps without a timer while nothing rests.
        if first { condition.withLock { condition.signal() } }
        return id
    }

    func remove(_ id: Int) { _ = entries.withLock { $0.all.removeValue(forKey: id) } }

    private func run() {
        while true {
            let deadline = MonotonicCondition.now() + UInt64(Self.interval * 1e9)
            condition.withLock {
                while true {
                    let idle = entries.withLock { $0.all.isEmpty }
                    if idle {
                        _ = condition.wait(until: .max)
                    } else if !condition.wait(until: deadline) {
                        return
                    }
                }
            }
            for (id, entry) in entries.withLock({ Array($0.all) }) where entry.look() {
                remove(id)
                entry.waker.wake()
            }
        }
    }
}
