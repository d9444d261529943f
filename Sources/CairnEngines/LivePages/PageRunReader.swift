import Foundation
import Synchronization
import CairnFormats

/// Reads runs of pages of a snapshot ahead of the caller, on threads of its own (`lanes` of
/// them, each with its buffer, run i read by lane i mod lanes), so that several reads are in
/// flight while the caller hashes the run before them. Buffers are reused.
final class PageRunReader: @unchecked Sendable {
    typealias Run = (first: UInt32, count: Int)
    static let lanes = 3

    private let snapshot: DatabaseSnapshot
    private let runs: [Run]
    private let buffers: [UnsafeMutableRawPointer]
    /// Written by a lane before it signals `filled`, read by the caller after waiting on it.
    private var errors: [EngineError?]
    private let filled: [DispatchSemaphore]
    private let free: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)
    /// Set by the caller when it stops; read by the lanes between runs.
    private let stopped = Atomic(false)

    init(snapshot: DatabaseSnapshot, runs: [Run], maxPages: Int) {
        self.snapshot = snapshot
        self.runs = runs
        let lanes = Self.lanes
        buffers = (0..<lanes).map { _ in UnsafeMutableRawPointer.allocate(byteCount: maxPages * snapshot.pageSize, alignment: 4096) }
        errors = Array(repeating: nil, count: lanes)
        filled = (0..<lanes).map { _ in DispatchSemaphore(value: 0) }
        free = (0..<lanes).map { _ in DispatchSemaphore(value: 1) }
        for lane in 0..<lanes {
            let thread = Thread { [self] in read(lane: lane) }
            thread.name = "cairn-page-reader"
            thread.start()
        }
    }

    deinit { for b in buffers { b.deallocate() } }

    private func read(lane: Int) {
        defer { finished.signal() }
        for i in stride(from: lane, to: runs.count, by: Self.lanes) {
            free[lane].wait()
            if stopped.load(ordering: .acquiring) { return }
            do throws(EngineError) {
                try snapshot.readPages(first: runs[i].first, count: runs[i].count, into: buffers[lane], missingAsZeros: true)
            } catch {
                errors[lane] = error
            }
            filled[lane].signal()
        }
    }

    /// Hands each run, in order, to `body` with its pages; stops the lanes before returning,
    /// whatever happens.
    func forEach(_ body: (Run, UnsafeRawPointer) throws(EngineError) -> Void) throws(EngineError) {
        defer {
            stopped.store(true, ordering: .releasing)
            for f in free { f.signal() }
            for _ in 0..<Self.lanes { finished.wait() }
        }
        for (i, run) in runs.enumerated() {
            let lane = i % Self.lanes
            filled[lane].wait()
            if let e = errors[lane] { throw e }
            try body(run, buffers[lane])
            free[lane].signal()
        }
    }
}
