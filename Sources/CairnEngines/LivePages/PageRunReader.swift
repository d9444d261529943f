import Foundation
import Synchronization
import CairnFormats

/// Reads runs of pages of a snapshot on a thread of its own, one run ahead of the caller, so
/// that the disk is read while the caller hashes the run before (two buffers, reused).
final class PageRunReader: @unchecked Sendable {
    typealias Run = (first: UInt32, count: Int)

    private let snapshot: DatabaseSnapshot
    private let runs: [Run]
    private let pageSize: Int
    private let buffers: [UnsafeMutableRawPointer]
    private var errors: [EngineError?] = [nil, nil]
    private let filled = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
    private let free = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    private let finished = DispatchSemaphore(value: 0)
    /// Set by the caller when it stops early; read by the reading thread between runs.
    private let stopped = Atomic(false)

    init(snapshot: DatabaseSnapshot, runs: [Run], maxPages: Int) {
        self.snapshot = snapshot
        self.runs = runs
        self.pageSize = snapshot.pageSize
        buffers = (0..<2).map { _ in UnsafeMutableRawPointer.allocate(byteCount: maxPages * snapshot.pageSize, alignment: 4096) }
        let thread = Thread { [self] in readAll() }
        thread.name = "cairn-page-reader"
        thread.start()
    }

    deinit { for b in buffers { b.deallocate() } }

    private func readAll() {
        defer { finished.signal() }
        for (i, run) in runs.enumerated() {
            let slot = i % 2
            free[slot].wait()
            if stopped.load(ordering: .acquiring) { return }
            do throws(EngineError) {
                try snapshot.readPages(first: run.first, count: run.count, into: buffers[slot], missingAsZeros: true)
            } catch {
                errors[slot] = error
            }
            filled[slot].signal()
        }
    }

    /// Hands each run, in order, to `body` with its pages; stops the reading thread before
    /// returning, whatever happens.
    func forEach(_ body: (Run, UnsafeRawPointer) throws(EngineError) -> Void) throws(EngineError) {
        defer {
            stopped.store(true, ordering: .releasing)
            free[0].signal()
            free[1].signal()
            finished.wait()
        }
        for (i, run) in runs.enumerated() {
            let slot = i % 2
            filled[slot].wait()
            if let e = errors[slot] { throw e }
            try body(run, buffers[slot])
            free[slot].signal()
        }
    }
}
