import Synchronization

/// A request to stop one capture (a `CaptureService` or a `CaptureGuardian`), made from
/// any thread. A signal to the process (see `CaptureSignals`) counts as a request too:
/// SIGINT/SIGTERM for a stop, SIGUSR2 for a worker making way.
public final class StopRequest: Sendable {
    public enum Signal: Sendable { case stop, yield }
    private let flag = Atomic<Bool>(false)
    private let signal: Signal

    public init(signal: Signal = .stop) { self.signal = signal }

    public func request() { flag.store(true, ordering: .releasing) }

    public var isRequested: Bool {
        if flag.load(ordering: .acquiring) { return true }
        switch signal {
        case .stop: return CaptureSignals.stopSignalled
        case .yield: return CaptureSignals.yieldSignalled
        }
    }
}
