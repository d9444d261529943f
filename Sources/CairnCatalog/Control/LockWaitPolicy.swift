import Foundation
import CairnFormats

/// How long a Cairn operation waits for a lock another Cairn command holds (see
/// `RepositoryOperation` for which locks there are), and where it says that it waits.
package struct LockWaitPolicy: Sendable {
    /// The default wait: long enough for another backup, validation or restore of a
    /// typical database to finish, short enough that a stuck job is noticed.
    package static let defaultTimeout: Double = 600

    /// Longest wait in seconds; 0 fails at once (`--no-wait`).
    package var timeout: Double
    /// After this many seconds of waiting, `notice` is told once what the wait is for.
    package var noticeAfter: Double = 1
    /// Receives the one message of a wait longer than `noticeAfter`; nil: the logger's warning.
    package var notice: (@Sendable (String) -> Void)?

    package init(timeout: Double = LockWaitPolicy.defaultTimeout, notice: (@Sendable (String) -> Void)? = nil) {
        self.timeout = timeout
        self.notice = notice
    }

    /// Fail at once instead of waiting.
    package static var noWait: LockWaitPolicy { LockWaitPolicy(timeout: 0) }

    /// The same policy with its wait capped at `seconds` (locks meant to be held briefly).
    package func capped(_ seconds: Double) -> LockWaitPolicy {
        var p = self
        p.timeout = min(timeout, seconds)
        return p
    }
}
