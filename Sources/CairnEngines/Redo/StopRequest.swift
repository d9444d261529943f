import Synchronization
import CairnFormats
import CairnCatalog

/// A request to stop one capture (a `CaptureRunner` or a `CaptureGuardian`), made from
/// any thread. A signal to the process (see `CaptureSignals`) counts as a request too:
/// SIGINT/SIGTERM for a stop, SIGUSR2 for a worker making way.
package final class StopRequest: Sendable {
    package enum Signal: Sendable { case stop, yield, none }
    private let flag = Atomic<Bool>(false)
    private let signal: Signal
    /// Told of a request at once (a capture waiting for its files to change wakes up).
    private let observers = Mutex<(next: Int, all: [Int: @Sendable () -> Void])>((0, [:]))

    package init(signal: Signal = .stop) { self.signal = signal }

    package func request() {
        flag.store(true, ordering: .releasing)
        for wake in observers.withLock({ Array($0.all.values) }) { wake() }
    }

    /// Calls `action` at every `request()` until `removeObserver` with the token returned.
    func observe(_ action: @escaping @Sendable () -> Void) -> Int {
        observers.withLock { o in
            o.next += 1
            o.all[o.next] = action
            return o.next
        }
    }

    func removeObserver(_ token: Int) { _ = observers.withLock { $0.all.removeValue(forKey: token) } }

    /// Forgets the request, the signal's included (a worker that made way and was not taken
    /// over captures on).
    package func clear() {
        flag.store(false, ordering: .releasing)
        switch signal {
        case .stop: CaptureSignals.stop.store(false, ordering: .releasing)
        case .yield: CaptureSignals.yield.store(false, ordering: .releasing)
        case .none: break
        }
    }

    package var isRequested: Bool {
        if flag.load(ordering: .acquiring) { return true }
        switch signal {
        case .stop: return CaptureSignals.stopSignalled
        case .yield: return CaptureSignals.yieldSignalled
        case .none: return false
        }
    }
}
