import Synchronization

/// A request to stop one capture (a `CaptureService` or a `CaptureGuardian`), made from
/// any thread. A signal to the process (see `CaptureSignals`) counts as a request too:
/// SIGINT/SIGTERM for a stop, SIGUSR2 for a worker making way.
public final class StopRequest: Sendable {
    public enum Signal: Sendable { case stop, yield, none }
    private let flag = Atomic<Bool>(false)
    private let signal: Signal

    public init(signal: Signal = .stop) { self.signal = signal }

    public func request() { flag.store(true, ordering: .releasing) }

    /// Forgets the request, the signal's included (a worker that made way and was not taken
    /// over captures on).
    public func clear() {
        flag.store(false, ordering: .releasing)
        switch signal {
        case .stop: CaptureSignals.stop = 0
        case .yield: CaptureSignals.yield = 0
        case .none: break
        }
    }

    public var isRequested: Bool {
        if flag.load(ordering: .acquiring) { return true }
        switch signal {
        case .stop: return CaptureSignals.stopSignalled
        case .yield: return CaptureSignals.yieldSignalled
        case .none: return false
        }
    }
}
