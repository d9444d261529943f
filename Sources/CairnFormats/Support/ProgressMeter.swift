import Foundation

/// ProgressMeter of a long operation, drawn on standard error when it is a terminal and silent
/// otherwise. Safe to update from any thread; redraws at most ten times a second.
package final class ProgressMeter: @unchecked Sendable {
    private let label: String
    private let total: UInt64
    private let enabled: Bool
    private let lock = NSLock()
    private var done: UInt64 = 0
    private var lastDraw = Date.distantPast
    private let start = Date()

    package init(label: String, totalBytes: UInt64, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.total = totalBytes
        self.enabled = enabled
    }

    package func advance(_ bytes: UInt64) {
        guard enabled else { return }
        lock.withLock {
            done += bytes
            let now = Date()
            guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            draw(now)
        }
    }

    private func draw(_ now: Date) {
        let secs = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / secs / 1_048_576
        let line = total > 0
            ? String(format: "\r%@: %.0f / %.0f MiB (%.0f%%) %.0f MiB/s ", label,
                     Double(done) / 1_048_576, Double(total) / 1_048_576, Double(done) * 100 / Double(total), rate)
            : String(format: "\r%@: %.0f MiB %.0f MiB/s ", label, Double(done) / 1_048_576, rate)
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }

    package func finish() {
        guard enabled else { return }
        lock.withLock {
            if total > 0 { done = total }
            draw(Date())
            try? FileHandle.standardError.write(contentsOf: Data("\n".utf8))
        }
    }
}
