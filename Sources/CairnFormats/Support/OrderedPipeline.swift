import CSystemShim
import Foundation
import Synchronization

/// Overlaps reading, transforming and writing on a fixed set of reusable slots:
/// the calling thread fills slots in order (`produce`), `workers` threads transform them
/// in parallel (`transform`, e.g. hash and compress), and one thread hands them back in
/// the original order (`consume`, e.g. write). Memory is bounded by the slots; the first
/// error stops every stage and is rethrown.
///
/// Slots go round a ring, each used by one stage at a time (semaphores pass it on); a slot
/// is Sendable on its own terms (its buffers behind a lock that each stage takes once a
/// block). What the consumer builds (a writer, a page map, checks) is shared with nobody: it
/// moves to the consumer's thread for the run (`consumer`) and `run` hands it back.
/// One run per pipeline.
package final class OrderedPipeline<Slot: Sendable>: Sendable {
    private let slots: [Slot]
    private let workers: Int
    /// A slot may be filled (one per slot, in ring order).
    private let free: [DispatchSemaphore]
    /// A slot was transformed (one per slot).
    private let done: [DispatchSemaphore]
    /// Slots queued for the workers.
    private let queued = DispatchSemaphore(value: 0)
    /// Slots handed on to the consumer, in order.
    private let ordered = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        /// Ring positions for the workers; nil tells a worker to stop.
        var queue: [Int?] = []
        /// How many slots were produced, once production ended.
        var total: Int?
        var failure: (any Error)?
    }

    /// Workers of a `background` pipeline run at a lower priority (nice 10): a backup's
    /// compression gives way to latency-bound threads (capture, a snapshot's keeper, the
    /// application) when the cores are busy, and costs nothing when they are not.
    private let background: Bool

    package init(slots: [Slot], workers: Int, background: Bool = false) {
        precondition(!slots.isEmpty && workers > 0)
        self.slots = slots
        self.workers = workers
        self.background = background
        free = slots.map { _ in DispatchSemaphore(value: 1) }
        done = slots.map { _ in DispatchSemaphore(value: 0) }
    }

    private var failed: Bool { state.withLock { $0.failure != nil } }

    private func fail(_ e: any Error) {
        state.withLock { if $0.failure == nil { $0.failure = e } }
    }

    /// `produce` fills the slot and returns true, or returns false when there is no more input.
    /// `consume` gets `consumer` (on its thread) with each slot; `run` returns it once every
    /// slot is consumed.
    package func run<Consumer>(produce: (Slot) throws -> Bool,
                               transform: @escaping @Sendable (Slot, Int) throws -> Void,
                               consumer: consuming sending Consumer,
                               consume: @escaping @Sendable (inout Consumer, Slot) throws -> Void) throws -> sending Consumer {
        let finished = DispatchSemaphore(value: 0)
        for w in 0..<workers {
            Thread { [self] in
                if background { _ = cairn_lower_thread_priority(10) }
                work(transform, worker: w)
                finished.signal()
            }.start()
        }
        let consuming = JoinableThread(name: "cairn pipeline consumer", moving: consumer) { [self] consumer in
            var consumer = consumer
            self.consume(consume, into: &consumer)
            return consumer
        }
        let produced = self.produce(produce)
        state.withLock {
            $0.total = produced
            for _ in 0..<workers { $0.queue.append(nil) }
        }
        for _ in 0..<workers { queued.signal() }
        ordered.signal()
        for _ in 0..<workers { finished.wait() }
        let result = consuming.join()
        if let failure = state.withLock({ $0.failure }) { throw failure }
        return result
    }

    /// Fills slots in ring order until there is no more input or a stage failed; returns how many.
    private func produce(_ produce: (Slot) throws -> Bool) -> Int {
        var produced = 0
        while !failed {
            let n = produced % slots.count
            free[n].wait()
            var more = false
            do { more = try produce(slots[n]) } catch { fail(error) }
            if !more {
                free[n].signal()
                break
            }
            state.withLock { $0.queue.append(n) }
            queued.signal()
            ordered.signal()
            produced += 1
        }
        return produced
    }

    /// A worker: transforms queued slots until told to stop.
    private func work(_ transform: @Sendable (Slot, Int) throws -> Void, worker w: Int) {
        while true {
            queued.wait()
            guard let n = state.withLock({ $0.queue.removeFirst() }) else { return }
            if !failed {
                do { try transform(slots[n], w) } catch { fail(error) }
            }
            done[n].signal()
        }
    }

    /// The consumer: takes slots in ring order as they are transformed, until all produced are.
    private func consume<Consumer>(_ consume: @Sendable (inout Consumer, Slot) throws -> Void, into consumer: inout Consumer) {
        var n = 0
        while true {
            ordered.wait()
            if state.withLock({ $0.total == n }) { return }
            let k = n % slots.count
            done[k].wait()
            if !failed {
                do { try consume(&consumer, slots[k]) } catch { fail(error) }
            }
            free[k].signal()
            n += 1
        }
    }
}
