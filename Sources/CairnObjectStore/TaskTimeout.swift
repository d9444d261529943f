/// The operation took longer than its bound and was cancelled.
struct TaskTimedOut: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no complete answer within \(RetryPolicy.seconds(limit)) s" }
}

/// Runs `operation`, cancelling it and throwing `TaskTimedOut` if it has not finished within `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TaskTimedOut(limit: limit)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
