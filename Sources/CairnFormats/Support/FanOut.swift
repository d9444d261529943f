import Foundation
import Synchronization

/// Runs `count` blocking jobs on at most `width` threads of their own (transfers that wait on
/// the network, never Swift's cooperative pool), and returns each job's error, nil for those
/// that succeeded, in job order. Every job runs even when others fail.
package enum FanOut {
    package static func run(_ count: Int, width: Int, _ job: @escaping @Sendable (Int) throws(EngineError) -> Void) -> [EngineError?] {
        guard count > 0 else { return [] }
        let next = Atomic<Int>(0)
        let errors = Mutex([EngineError?](repeating: nil, count: count))
        let threads = (0..<max(1, min(width, count))).map { n in
            JoinableThread<Void>(name: "cairn-fanout-\(n)") {
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    guard i < count else { return }
                    do throws(EngineError) { try job(i) } catch { errors.withLock { $0[i] = error } }
                }
            }
        }
        for t in threads { t.join() }
        return errors.withLock { $0 }
    }
}
