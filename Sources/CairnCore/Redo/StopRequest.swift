import Synchronization

/// A request to stop one capture (a `CaptureService` or a `CaptureGuardian`), made from
/// any thread. A stop signal to the process (see `CaptureSignals`) counts as a request too.
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func request() { flag.store(true, ordering: .releasing) }

    public var isRequested: Bool { flag.load(ordering: .acquiring) || CaptureSignals.stopSignalled }
}
