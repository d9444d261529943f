import AsyncHTTPClient

/// Which failures are worth another attempt, and how long to wait before it.
enum RetryPolicy {
    /// Codes S3 sends for transient trouble, whatever the status.
    static let transientCodes: Set<String> = [
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
        "RequestLimitExceeded", "ConditionalRequestConflict", "OperationAborted",
    ]

    /// 5xx, 429 and the transient codes; never another 4xx.
    static func isRetryable(status: Int, code: String?) -> Bool {
        if let code, transientCodes.contains(code) { return true }
        return status == 429 || (500...599).contains(status)
    }

    /// A failure to get an answer: retried unless retrying cannot help.
    static func isRetryable(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        if let error = error as? HTTPClientError {
            return ![HTTPClientError.invalidURL, .emptyHost, .emptyScheme, .alreadyShutdown, .cancelled].contains(error)
        }
        return true
    }

    /// Full jitter: a uniformly random delay in 0 ... min(maxBackoff, baseBackoff × 2^(attempt-1)).
    static func backoff(afterAttempt attempt: Int, tuning: S3Tuning) -> Duration {
        let base = seconds(tuning.baseBackoff), cap = seconds(tuning.maxBackoff)
        let ceiling = min(cap, base * Double(1 << min(max(attempt - 1, 0), 30)))
        guard ceiling > 0 else { return .zero }
        return .nanoseconds(Int64(Double.random(in: 0...ceiling) * 1e9))
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
