import Synchronization

/// Requests this process has sent to object storage, by kind (put, get, head, list, delete,
/// copy, multipartPart, multipartControl, bucket, retries), as the object-store layer counts
/// them (`ObjectStoreSetup` registers its counter here). Callers above it record the growth
/// in the control file, so `status --json` and `report space` can show what a database costs.
package enum ObjectRequests {
    /// The registered counter, boxed: a closure kept directly in a `Mutex` and read through
    /// `withLock { $0 }` gained a layer of reabstraction thunks at every read (each read slower
    /// and larger than the last, until a thread's stack overflowed in a long-running capture).
    private final class Counter: Sendable {
        let read: @Sendable () -> [String: UInt64]
        init(_ read: @escaping @Sendable () -> [String: UInt64]) { self.read = read }
    }

    private static let counter = Mutex<Counter?>(nil)
    /// The totals already recorded by this process (see `takeGrowth`).
    private static let recorded = Mutex<[String: UInt64]>([:])

    package static func register(_ totals: @escaping @Sendable () -> [String: UInt64]) { counter.withLock { $0 = Counter(totals) } }

    /// Requests sent by this process so far, by kind (empty when no object store is in use).
    package static var processTotals: [String: UInt64] { counter.withLock { $0 }?.read() ?? [:] }

    /// The requests sent since the last call (by kind, zero kinds left out), marked as taken.
    package static func takeGrowth() -> [String: UInt64] {
        let now = processTotals
        return recorded.withLock { before in
            var growth: [String: UInt64] = [:]
            for (kind, n) in now where n > before[kind, default: 0] { growth[kind] = n - before[kind, default: 0] }
            before = now
            return growth
        }
    }
}
