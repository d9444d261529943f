import Foundation

/// Work spread over a few threads at once (the calling one among them), for the agent's
/// requests: a snapshot of 500 databases, the shards of `/metrics`.
enum Parallel {
    /// Threads to use: the processors, at most 4.
    static let workers = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

    /// `body(i)` for each `i` of `range`, on `workers` threads (each takes every `workers`-th).
    static func forEach(_ range: Range<Int>, workers: Int = workers, _ body: @Sendable (Int) -> Void) {
        let n = min(workers, range.count)
        guard n > 1 else { return range.forEach(body) }
        DispatchQueue.concurrentPerform(iterations: n) { w in
            for i in stride(from: range.lowerBound + w, to: range.upperBound, by: n) { body(i) }
        }
    }

    /// `transform` of each of `items`, in order, worked out on `workers` threads.
    static func map<T: Sendable, U: Sendable>(_ items: [T], workers: Int = workers, _ transform: @Sendable (T) -> U) -> [U] {
        guard workers > 1, items.count > 1 else { return items.map(transform) }
        let slots = Slots<U>(count: items.count)
        forEach(items.indices, workers: workers) { i in slots.put(transform(items[i]), at: i) }
        return slots.values
    }

    /// Results written by several threads, each to slots of its own.
    private final class Slots<U>: @unchecked Sendable {
        private let base: UnsafeMutablePointer<U?>
        private let count: Int

        init(count: Int) {
            self.count = count
            base = .allocate(capacity: count)
            base.initialize(repeating: nil, count: count)
        }

        deinit {
            base.deinitialize(count: count)
            base.deallocate()
        }

        func put(_ value: U, at i: Int) { base[i] = value }

        var values: [U] { (0..<count).compactMap { base[$0] } }
    }
}
