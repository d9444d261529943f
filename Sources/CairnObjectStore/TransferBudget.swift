import Synchronization

/// A bound on the payload bytes that the uploads of one client hold in memory at once: the
/// parts of every multipart upload and the bodies of single PUTs, whichever file and thread
/// they come from. An upload takes room before it reads a part from its file and gives it back
/// once that part's request is over, so several files uploaded at once share the bound instead
/// of each holding `partSize × maxConcurrentParts`. Waiters are served in arrival order (a
/// large part is not passed over for ever by small ones).
final class TransferBudget: Sendable {
    let capacity: Int

    private struct Waiter {
        let id: UInt64
        let bytes: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextId: UInt64 = 0
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        state = Mutex(State(available: max(capacity, 1)))
    }

    /// Takes `bytes` of room (a request above the capacity takes all of it), waiting until
    /// there is; returns what it took, to be given back with `release`. Throws
    /// CancellationError when the task is cancelled while it waits (nothing is taken then).
    func acquire(_ bytes: Int) async throws -> Int {
        let wanted = min(max(bytes, 0), capacity)
        let id = state.withLock { s in
            s.nextId += 1
            return s.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case granted, cancelled, queued }
                let now = state.withLock { s -> Now in
                    // The handler runs after the flag is set and takes this lock: either this
                    // sees the flag, or the handler finds the waiter queued.
                    if Task.isCancelled { return .cancelled }
                    if s.waiters.isEmpty && s.available >= wanted {
                        s.available -= wanted
                        return .granted
                    }
                    s.waiters.append(Waiter(id: id, bytes: wanted, continuation: continuation))
                    return .queued
                }
                switch now {
                case .granted: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i)
            }
            waiter?.continuation.resume(throwing: CancellationError())
            // It may have held back smaller waiters behind it that fit now.
            release(0)
        }
        return wanted
    }

    /// Gives back what `acquire` took, and lets in the waiters that now fit, in order.
    func release(_ bytes: Int) {
        let ready = state.withLock { s -> [Waiter] in
            s.available = min(capacity, s.available + bytes)
            var ready: [Waiter] = []
            while let first = s.waiters.first, first.bytes <= s.available {
                s.available -= first.bytes
                ready.append(s.waiters.removeFirst())
            }
            return ready
        }
        for w in ready { w.continuation.resume() }
    }

    /// Room not taken now, and acquires waiting (for tests).
    var available: Int { state.withLock { $0.available } }
    var waiting: Int { state.withLock { $0.waiters.count } }
}
