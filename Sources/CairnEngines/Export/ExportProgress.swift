import CairnFormats

/// An export's or import's progress, told to the monitor (and a cancellation noticed) about
/// once a MiB of output, so the row loop pays one comparison a row.
struct ExportProgress {
    private let meter: ProgressMeter
    private var told: UInt64 = 0
    private var next: UInt64 = Self.step
    private static let step: UInt64 = 1 << 20

    init(label: String, totalBytes: UInt64, monitor: OperationMonitor) {
        meter = ProgressMeter(label: label, totalBytes: totalBytes, monitor: monitor)
    }

    /// `done` bytes in all so far.
    @inline(__always)
    mutating func update(_ done: UInt64) throws(EngineError) {
        guard done >= next else { return }
        try meter.advance(done - told)
        told = done
        next = done + Self.step
    }

    func finish() { meter.finish() }
}
