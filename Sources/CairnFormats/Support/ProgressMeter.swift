import Foundation
import Synchronization

/// How far a long operation got: bytes done of the bytes it will handle (nil when unknown).
package struct ProgressReport: Sendable, Equatable {
    package let operation: String
    package let completedBytes: UInt64
    package let totalBytes: UInt64?
    package let finished: Bool
}

/// What a long operation tells its caller and hears from it: progress reports go to `report`
/// (the CLI draws a bar from them; the library never writes to a terminal), and `cancel()`
/// makes the operation stop with `EngineError.cancelled` at its next block.
package final class OperationMonitor: Sendable {
    private let report: (@Sendable (ProgressReport) -> Void)?
    private let cancelled = Atomic<Bool>(false)

    package init(report: (@Sendable (ProgressReport) -> Void)? = nil) {
        self.report = report
    }

    package func cancel() { cancelled.store(true, ordering: .releasing) }
    package var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Throws `cancelled` once `cancel()` was called.
    package func checkCancelled(_ operation: String) throws(EngineError) {
        if isCancelled { throw .cancelled(operation: operation) }
    }

    package func send(_ r: ProgressReport) { report?(r) }
    package var reports: Bool { report != nil }
}

/// The progress of one long operation: counts bytes from any thread, reports at most ten
/// times a second to its monitor, and is where the operation notices a cancellation.
package final class ProgressMeter: Sendable {
    private struct State { var done: UInt64 = 0; var lastReport = Date.distantPast }
    private let label: String
    private let total: UInt64
    private let monitor: OperationMonitor
    private let state = Mutex(State())

    package init(label: String, totalBytes: UInt64, monitor: OperationMonitor) {
        self.label = label
        self.total = totalBytes
        self.monitor = monitor
    }

    /// Counts `bytes` more done; throws `cancelled` when the operation was cancelled.
    package func advance(_ bytes: UInt64) throws(EngineError) {
        try monitor.checkCancelled(label)
        guard monitor.reports else { return }
        let due: UInt64? = state.withLock { s in
            s.done += bytes
            let now = Date()
            guard now.timeIntervalSince(s.lastReport) >= 0.1 else { return nil }
            s.lastReport = now
            return s.done
        }
        if let due { monitor.send(ProgressReport(operation: label, completedBytes: due, totalBytes: total > 0 ? total : nil, finished: false)) }
    }

    package func finish() {
        guard monitor.reports else { return }
        let done = state.withLock { s in total > 0 ? total : s.done }
        monitor.send(ProgressReport(operation: label, completedBytes: done, totalBytes: total > 0 ? total : nil, finished: true))
    }
}
