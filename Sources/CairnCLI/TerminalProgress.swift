import Foundation
import CairnFormats

/// Draws a long operation's progress on standard error when it is a terminal (nothing
/// otherwise): the library reports, the command line draws.
enum TerminalProgress {
    /// A monitor whose reports are drawn as one line redrawn in place.
    static func monitor() -> OperationMonitor {
        guard isatty(STDERR_FILENO) == 1 else { return OperationMonitor() }
        let start = Date()
        return OperationMonitor { r in
            let secs = max(Date().timeIntervalSince(start), 0.001)
            let mib = Double(r.completedBytes) / 1_048_576
            let rate = mib / secs
            var line = r.totalBytes.map { total in
                String(format: "\r%@: %.0f / %.0f MiB (%.0f%%) %.0f MiB/s ", r.operation, mib, Double(total) / 1_048_576,
                       Double(r.completedBytes) * 100 / Double(max(total, 1)), rate)
            } ?? String(format: "\r%@: %.0f MiB %.0f MiB/s ", r.operation, mib, rate)
            if r.finished { line += "\n" }
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
