import Foundation
import Synchronization

/// Writes pages into a file on a thread of its own, in the order they are given, so that the
/// caller goes on decoding the next pages meanwhile (recovery: one core rebuilds pages from
/// the logs while the other writes them). Pages are copied into a few reusable batches, so
/// memory stays bounded (`batches` × about 1 MiB) whatever is written.
///
/// Whoever reads the file while pages are in flight asks first (`settle(_:)`): a page still
/// waiting in a batch is written before the call returns, so a read always finds the last
/// version given. The writer's first error is thrown by the next call, and it stops writing.
/// Not Sendable: one thread gives pages; `finish()` (or deinit) stops the writer thread.
package final class PageWriteBehind {
    package let pageSize: Int
    private let batchPages: Int
    private let slots: [Slot]
    private let shared: Shared
    private var writer: JoinableThread<Void>?
    /// The batch being filled, and how many pages it holds.
    private var current = 0
    private var filled = 0
    /// Page numbers of each batch (the caller's copy, for `settle`), and how many batches
    /// were handed to the writer so far.
    private var numbers: [[UInt32]]
    private var submitted = 0

    /// One batch of pages, used under its lock by one side at a time.
    private final class Slot: Sendable {
        let batch: Mutex<Batch>
        init(pageSize: Int, pages: Int) { batch = Mutex(Batch(pageSize: pageSize, pages: pages)) }
    }

    private struct Batch: ~Copyable {
        let data: UnsafeMutableRawPointer
        var pgnos: [UInt32] = []
        init(pageSize: Int, pages: Int) {
            data = .allocate(byteCount: pageSize * pages, alignment: 4096)
            pgnos.reserveCapacity(pages)
        }
        deinit { data.deallocate() }
    }

    /// What the two threads share: batches ready to write (nil stops the writer), free ones,
    /// how many were written, and the writer's first error.
    private final class Shared: Sendable {
        let ready = DispatchSemaphore(value: 0)
        let free: [DispatchSemaphore]
        let queue = Mutex<[Int?]>([])
        let written = Atomic<Int>(0)
        let failure = Mutex<EngineError?>(nil)
        init(batches: Int) {
            // Made at 0 and signalled once: libdispatch refuses to free a semaphore whose
            // value is below the one it was made with, as the one being filled is.
            free = (0..<batches).map { _ in DispatchSemaphore(value: 0) }
            for f in free { f.signal() }
        }
    }

    package init(file: RawFile, pageSize: Int, batches: Int = 4) {
        self.pageSize = pageSize
        batchPages = max(8, (1 << 20) / pageSize)
        slots = (0..<batches).map { _ in Slot(pageSize: pageSize, pages: max(8, (1 << 20) / pageSize)) }
        numbers = Array(repeating: [], count: batches)
        shared = Shared(batches: batches)
        shared.free[0].wait()
        let (slots, shared) = (slots, shared)
        writer = JoinableThread(name: "cairn-page-writer") { Self.write(slots, shared, file: file, pageSize: pageSize) }
    }

    deinit { stop() }

    /// Copies page `pgno` into the current batch; a full batch goes to the writer.
    package func write(_ pgno: UInt32, _ page: UnsafeRawPointer) throws(EngineError) {
        if let e = shared.failure.withLock({ $0 }) { throw e }
        let (at, size) = (filled, pageSize)
        // The caller's page is only read, on this thread, before this call returns, and the
        // batch (which goes to the writer thread) keeps nothing of it but the bytes copied:
        // its address is passed as a number so that the compiler does not count the batch in
        // the caller's region (it would, for any pointer argument of the copy).
        let source = UInt(bitPattern: page)
        slots[current].batch.withLock { b in
            guard let from = UnsafeRawPointer(bitPattern: source) else { return }
            (b.data + at * size).copyMemory(from: from, byteCount: size)
            b.pgnos.append(pgno)
        }
        numbers[current].append(pgno)
        filled += 1
        if filled == batchPages { submit() }
    }

    /// Returns once page `pgno` is in the file as last given (at once when it is not waiting
    /// in a batch). Throws the writer's error, if any.
    package func settle(_ pgno: UInt32) throws(EngineError) {
        let written = shared.written.load(ordering: .acquiring)
        let waiting = (written..<submitted).contains { numbers[$0 % slots.count].contains(pgno) }
        if waiting || numbers[current].contains(pgno) { try drain() }
        if let e = shared.failure.withLock({ $0 }) { throw e }
    }

    /// Writes every page given so far; throws the writer's error, if any.
    package func drain() throws(EngineError) {
        if filled > 0 { submit() }
        // Every batch comes back free once written: take each free signal and give it back.
        for i in 0..<slots.count where i != current {
            shared.free[i].wait()
            shared.free[i].signal()
        }
        if let e = shared.failure.withLock({ $0 }) { throw e }
    }

    /// Writes every page given so far and stops the writer thread.
    package func finish() throws(EngineError) {
        try drain()
        stop()
    }

    /// Stops the writer thread after the batches handed to it (nothing more is written).
    package func stop() {
        guard let w = writer else { return }
        writer = nil
        shared.queue.withLock { $0.append(nil) }
        shared.ready.signal()
        w.join()
    }

    /// Hands the current batch to the writer and takes the next free one.
    private func submit() {
        let i = current
        shared.queue.withLock { $0.append(i) }
        shared.ready.signal()
        submitted += 1
        current = (i + 1) % slots.count
        shared.free[current].wait()
        numbers[current].removeAll(keepingCapacity: true)
        filled = 0
    }

    /// The writer thread: writes each batch handed to it in order, then frees it.
    private static func write(_ slots: [Slot], _ shared: Shared, file: RawFile, pageSize: Int) {
        while true {
            shared.ready.wait()
            let next = shared.queue.withLock { $0.removeFirst() }
            guard let i = next else { return }
            slots[i].batch.withLock { b in
                defer { b.pgnos.removeAll(keepingCapacity: true) }
                guard shared.failure.withLock({ $0 == nil }) else { return }
                do throws(EngineError) {
                    for (k, pgno) in b.pgnos.enumerated() {
                        try file.write(b.data + k * pageSize, count: pageSize, at: UInt64(pgno - 1) * UInt64(pageSize))
                    }
                } catch {
                    shared.failure.withLock { if $0 == nil { $0 = error } }
                }
            }
            shared.written.add(1, ordering: .releasing)
            shared.free[i].signal()
        }
    }
}
