import Dispatch
import Synchronization

/// Runs an async operation to completion from synchronous code: the archive destinations'
/// interface is synchronous (the archiver, recovery and the CLI call it from threads of their
/// own), the S3 client is async.
///
/// How: the operation runs in a new unstructured task on the global concurrent executor;
/// the calling thread waits on a semaphore that the task signals once it has put its result
/// in a `Mutex`. The task needs a thread of Swift's cooperative pool to run (the HTTP client's
/// own I/O runs on its event loops), so the caller must not be one of those threads: a caller
/// that blocked them all would wait forever. Cairn's engines never run on the pool (the
/// public API runs them on threads of their own, the CLI on its main thread), and debug
/// builds stop a caller that runs inside a task.
package enum BlockingBridge {
    /// The outcome of `operation`, waited for on the calling thread.
    package static func run<T: Sendable, E: Error>(_ operation: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
        assert(!insideTask, "BlockingBridge.run blocks its thread: call it from a thread of your own, not from a task (Swift's cooperative pool)")
        let outcome = Outcome<T, E>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let result: Result<T, E>
            do throws(E) {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            outcome.result.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        // The task stored its result before signalling: it is there.
        guard let result = outcome.result.withLock({ $0 }) else { preconditionFailure("BlockingBridge: the task signalled without a result") }
        return try result.get()
    }

    /// True when the calling code runs inside a task (on the cooperative pool or an actor).
    private static var insideTask: Bool { withUnsafeCurrentTask { $0 != nil } }

    /// Where the task leaves its result for the waiting thread.
    private final class Outcome<T: Sendable, E: Error>: Sendable {
        let result = Mutex<Result<T, E>?>(nil)
    }
}
