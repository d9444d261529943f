import CSystemShim
import Foundation
import Synchronization

/// Runs a pass (the archiver's, the remote shipper's) on its own thread: at once when poked,
/// and again after the delay the pass returns (a copy to retry), or, when it returns nil
/// (nothing left to do), only once poked. Idle, the thread sleeps without a timer: hundreds of
/// captures in one process cost nothing between their commits. Whoever changes what a pass
/// works on pokes it (see `CaptureLoop`: a log closed, the control file changed).
final class PeriodicPass: Sendable {
    private let name: String
    /// The delay before the next pass, nil: until poked.
    private let pass: @Sendable () -> TimeInterval?
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        /// A thread was started and not stopped since.
        var running = false
        /// Raised by every start: a thread ends once it is not the newest (after a stop that
        /// did not wait for it, another may have been started).
        var generation = 0
        /// Poked since the last pass began (pokes made meanwhile count as one).
        var poked = false
    }

    init(name: String, _ pass: @escaping @Sendable () -> TimeInterval?) {
        self.name = name
        self.pass = pass
    }

    func start() {
        let generation = state.withLock { state -> Int? in
            guard !state.running else { return nil }
            state.running = true
            state.generation += 1
            return state.generation
        }
        guard let generation else { return }
        let thread = Thread { [self] in
            Thread.current.name = name
            func current() -> Bool {
                state.withLock { s in
                    s.poked = false
                    return s.running && s.generation == generation
                }
            }
            while current() {
                if let delay = pass() {
                    _ = wake.wait(timeout: .now() + max(0, delay))
                } else {
                    // Idle until poked, maybe for hours: the stack its pass grew goes back.
                    _ = cairn_trim_stack()
                    wake.wait()
                }
            }
            done.signal()
        }
        thread.start()
    }

    /// Runs the pass now (after the one running, if any).
    func poke() {
        let signal = state.withLock { s -> Bool in
            defer { s.poked = true }
            return !s.poked
        }
        if signal { wake.signal() }
    }

    /// Ends the thread after its pass; `wait` waits for that pass to end.
    func stop(wait: Bool = true) {
        let stops = state.withLock { state -> Bool in
            guard state.running else { return false }
            state.running = false
            return true
        }
        guard stops else { return }
        wake.signal()
        if wait { done.wait() }
    }
}
