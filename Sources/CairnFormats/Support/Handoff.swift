import Synchronization

/// Moves one value that is not Sendable from one thread to another: it goes in when the
/// handoff is made (`sending`: the maker may not touch it afterwards) and comes out once,
/// by `take()` (then it belongs to the taker alone). The compiler checks both ends, so
/// no `@unchecked Sendable` is needed to start a thread with state of its own or to hand
/// that state back.
package final class Handoff<Value>: Sendable {
    private let value: Mutex<Value?>

    package init(_ value: consuming sending Value) {
        self.value = Mutex(value)
    }

    /// The value; a second take is a programming error.
    package func take() -> sending Value {
        value.withLock { value in
            guard let taken = value.take() else { preconditionFailure("a handoff's value is taken once") }
            return taken
        }
    }
}
