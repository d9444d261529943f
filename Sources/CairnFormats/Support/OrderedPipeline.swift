import Foundation

/// A slot of reusable buffers that travels through an `OrderedPipeline`.
open class PipelineSlot: @unchecked Sendable {
    let free = DispatchSemaphore(value: 1)
    let done = DispatchSemaphore(value: 0)
    public init() {}
}

/// Overlaps reading, transforming and writing on a fixed set of reusable slots:
/// the calling thread fills slots in order (`produce`), `workers` threads transform them
/// in parallel (`transform`, e.g. hash and compress), and one thread hands them back in
/// the original order (`consume`, e.g. write). Memory is bounded by the slots; the first
/// error stops every stage and is rethrown.
package final class OrderedPipeline<Slot: PipelineSlot>: @unchecked Sendable {
    private let slots: [Slot]
    private let workers: Int
    private let lock = NSLock()
    private var queue: [Slot?] = []
    private let queued = DispatchSemaphore(value: 0)
    private let ordered = DispatchSemaphore(value: 0)
    private var total: Int?
    private var failure: Error?

    package init(slots: [Slot], workers: Int) {
        precondition(!slots.isEmpty && workers > 0)
        self.slots = slots
        self.workers = workers
    }

    private var failed: Bool { lock.withLock { failure != nil } }

    private func fail(_ e: Error) {
        lock.withLock { if failure == nil { failure = e } }
    }

    /// `produce` fills the slot and returns true, or returns false when there is no more input.
    package func run(produce: (Slot) throws -> Bool,
                    transform: @escaping @Sendable (Slot, Int) throws -> Void,
                    consume: @escaping @Sendable (Slot) throws -> Void) throws {
        let finished = DispatchSemaphore(value: 0)
        for w in 0..<workers {
            let t = Thread { [self] in
                while true {
                    queued.wait()
                    guard let slot = lock.withLock({ queue.removeFirst() }) else { break }
                    if !failed {
                        do { try transform(slot, w) } catch { fail(error) }
                    }
                    slot.done.signal()
                }
                finished.signal()
            }
            t.start()
        }
        let consumer = Thread { [self] in
            var n = 0
            while true {
                ordered.wait()
                let end = lock.withLock { total == n }
                if end { break }
                let slot = slots[n % slots.count]
                slot.done.wait()
                if !failed {
                    do { try consume(slot) } catch { fail(error) }
                }
                slot.free.signal()
                n += 1
            }
            finished.signal()
        }
        consumer.start()

        var produced = 0
        while !failed {
            let slot = slots[produced % slots.count]
            slot.free.wait()
            var more = false
            do { more = try produce(slot) } catch { fail(error) }
            if !more {
                slot.free.signal()
                break
            }
            lock.withLock { queue.append(slot) }
            queued.signal()
            ordered.signal()
            produced += 1
        }
        lock.withLock {
            total = produced
            for _ in 0..<workers { queue.append(nil) }
        }
        for _ in 0..<workers { queued.signal() }
        ordered.signal()
        for _ in 0...workers { finished.wait() }
        if let failure { throw failure }
    }
}
