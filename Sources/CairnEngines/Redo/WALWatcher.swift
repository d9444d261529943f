import Foundation
import CairnFormats
import CairnCatalog

/// Waits for changes to a database's files through inotify on its directory, and says which
/// file changed: the WAL (a commit), the database file (a checkpoint copying frames), or the
/// set of files (one created, deleted or renamed).
///
/// Backed by a subscription to the process's one inotify instance (`InotifyHub`), so the
/// captures of hundreds of databases in one process need neither an instance nor a descriptor
/// each. Without inotify (or a watch: the user's limit reached, the directory gone) every wait
/// sleeps its whole time and reports that anything may have changed.
final class WALWatcher {
    struct Events: OptionSet {
        let rawValue: Int
        static let wal = Events(rawValue: 1)
        static let database = Events(rawValue: 2)
        static let files = Events(rawValue: 4)
        static let none: Events = []
    }

    private let hub: InotifyHub
    private let subscription: InotifySubscription
    /// When a lost watch was last tried again.
    private var rewatchedAt: UInt64 = 0

    init(databasePath: String, hub: InotifyHub = .shared) {
        self.hub = hub
        subscription = hub.subscribe(databasePath: databasePath)
    }

    deinit { hub.unsubscribe(subscription) }

    /// Whether changes are reported as they happen (inotify watches the directory): a wait
    /// that ends with nothing then means nothing changed.
    var isWatched: Bool { subscription.isWatched }

    /// Ends the current or next `wait` at once (from any thread: a stop or switch request).
    var waker: Waker { Waker(subscription: subscription) }

    struct Waker: Sendable {
        fileprivate let subscription: InotifySubscription
        func wake() { subscription.interrupt() }
    }

    /// Sleeps up to `timeoutMs`, waking at once when the database file is written (in WAL
    /// mode only a checkpoint writes it); commits to the WAL do not wake it. True when woken
    /// by a write. Without inotify, simply sleeps.
    func waitForDatabaseWrite(timeoutMs: Int32) -> Bool {
        subscription.forgetDatabaseWrites()
        return subscription.takeDatabaseWrite(timeoutMs: timeoutMs)
    }

    /// Whether the database file was written since the last `waitForDatabaseWrite`,
    /// `forgetDatabaseWrites` or `databaseWritten` (it is forgotten then).
    /// Waits up to `waitingMs` for one when none was seen (woken at once by it).
    func databaseWritten(waitingMs: Int32 = 0) -> Bool { subscription.takeDatabaseWrite(timeoutMs: waitingMs) }

    /// Returns what changed in the database's files once something did, or nil after
    /// `timeoutMs` or when woken (changes to other files in the directory, a log file among
    /// them, are not waited for: they neither end the wait nor count).
    func wait(timeoutMs: Int32) -> Events? {
        if !subscription.isWatched { rewatch() }
        return subscription.wait(timeoutMs: timeoutMs)
    }

    /// Reads every pending event without waiting.
    func drain() -> Events { subscription.drain() }

    /// Makes `events` pending again (for the next `wait`).
    func putBack(_ events: Events) { subscription.deliver(events) }

    /// Forgets the writes to the database file seen so far (see `databaseWritten`).
    func forgetDatabaseWrites() { subscription.forgetDatabaseWrites() }

    /// A watch lost with its directory is tried again, once a second at most.
    private func rewatch() {
        let now = MonotonicCondition.now()
        guard now - rewatchedAt >= 1_000_000_000 else { return }
        rewatchedAt = now
        _ = hub.rewatch(subscription)
    }
}
