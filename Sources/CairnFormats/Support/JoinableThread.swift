import Foundation
import Synchronization

/// A thread of its own (Foundation's, never Swift's cooperative pool: the work blocks on
/// I/O and semaphores) that runs one body and hands what it returns to the thread that
/// joins it. The body's input is moved in (`sending`) and its result moved out, so state
/// that is not Sendable (buffers, a pin, a writer) can belong to the thread while it runs
/// and to its starter again afterwards, checked by the compiler.
package final class JoinableThread<Result>: Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let result = Mutex<Handoff<Result>?>(nil)

    /// Starts `body` with `input` on a new thread named `name`.
    package init<Input>(name: String, moving input: consuming sending Input,
                        _ body: @escaping @Sendable (consuming sending Input) -> sending Result) {
        let inbox = Handoff(input)
        let thread = Thread { [self] in
            let outbox = Handoff(body(inbox.take()))
            result.withLock { $0 = outbox }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Starts `body` on a new thread named `name`.
    package convenience init(name: String, _ body: @escaping @Sendable () -> sending Result) {
        self.init(name: name, moving: ()) { _ in body() }
    }

    /// Whether the body returns within `seconds` (its result is then ready for `join()`).
    package func hasFinished(within seconds: Double) -> Bool {
        guard finished.wait(timeout: .now() + seconds) == .success else { return false }
        finished.signal()
        return true
    }

    /// Waits for the body to return and takes its result (once).
    package func join() -> sending Result {
        finished.wait()
        guard let outbox = result.withLock({ $0.take() }) else { preconditionFailure("a thread is joined once") }
        return outbox.take()
    }
}
