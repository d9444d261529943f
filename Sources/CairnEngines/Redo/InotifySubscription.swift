import Foundation
import CairnFormats

/// One database's share of the process's inotify instance (`InotifyHub`): the events of its
/// three files (`DB`, `DB-wal`, `DB-shm`), gathered by the hub's thread as they come and
/// waited for on a condition variable (no descriptor of its own).
///
/// Thread-safe: the hub's thread delivers, the capture thread waits, any thread wakes.
final class InotifySubscription: @unchecked Sendable {
    let databasePath: String
    let directory: String
    let databaseName: String

    /// Which of the database's files a name in the directory is.
    enum Role { case database, wal, index }

    private let condition = MonotonicCondition()
    /// Guarded by `condition`:
    private var pending: WALWatcher.Events = []
    private var databaseWritten = false
    private var interrupted = false
    private var watched = false
    /// The hub's watch this subscription is counted in (guarded by the hub's lock).
    var watch: Int32?

    init(databasePath: String) {
        self.databasePath = databasePath
        directory = FileSystem.parent(of: databasePath)
        databaseName = (databasePath as NSString).lastPathComponent
    }

    /// The names in the directory this subscription wants events of, and what each one is.
    var names: [(name: String, role: Role)] {
        [(databaseName, .database), (databaseName + "-wal", .wal), (databaseName + "-shm", .index)]
    }

    /// Whether a watch reports the directory's changes: false without inotify, when the watch
    /// could not be added (the user's watch limit), or once it was lost (the directory was
    /// deleted, or its file system unmounted).
    var isWatched: Bool { condition.withLock { watched } }

    // MARK: - The hub's side

    /// The hub added (or lost) the watch.
    func setWatched(_ value: Bool) { condition.withLock { watched = value } }

    /// The hub saw `mask` on the file of `role`.
    func deliver(role: Role, mask: UInt32) {
        let events = Self.classify(role: role, mask: mask)
        let written = role == .database && mask & UInt32(IN_MODIFY) != 0
        guard !events.isEmpty || written else { return }
        deliver(events, databaseWritten: written)
    }

    /// Adds `events` (and a write to the database file) and wakes the waiting thread at once.
    func deliver(_ events: WALWatcher.Events, databaseWritten written: Bool = false, lost: Bool = false) {
        condition.withLock {
            pending.formUnion(events)
            if written { databaseWritten = true }
            if lost { watched = false }
            condition.signal()
        }
    }

    /// Ends the current or next wait at once, with nothing to report (a stop or switch request).
    func interrupt() {
        condition.withLock {
            interrupted = true
            condition.signal()
        }
    }

    static func classify(role: Role, mask: UInt32) -> WALWatcher.Events {
        let structural = mask & UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) != 0
        switch role {
        case .database: return structural ? [.files, .database] : .database
        case .wal: return structural ? [.files, .wal] : .wal
        case .index: return structural ? .files : .none
        }
    }

    // MARK: - The waiting side (see `WALWatcher`)

    /// What happened since the last look, once something did; nil after `timeoutMs` or when
    /// interrupted. Unwatched, it sleeps the whole time (unless interrupted) and reports that
    /// anything may have changed.
    func wait(timeoutMs: Int32) -> WALWatcher.Events? {
        let deadline = MonotonicCondition.deadline(afterMs: timeoutMs)
        return condition.withLock {
            while true {
                if !pending.isEmpty {
                    defer { pending = [] }
                    return pending
                }
                if interrupted {
                    interrupted = false
                    return nil
                }
                if !condition.wait(until: deadline) {
                    if !pending.isEmpty { continue }
                    return watched ? nil : [.wal, .database]
                }
            }
        }
    }

    /// Takes what happened since the last look, without waiting.
    func drain() -> WALWatcher.Events {
        condition.withLock {
            defer { pending = [] }
            return pending
        }
    }

    /// Forgets writes to the database file seen so far.
    func forgetDatabaseWrites() { condition.withLock { databaseWritten = false } }

    /// Whether the database file was written since the last `forgetDatabaseWrites` or
    /// `takeDatabaseWrite`, waiting up to `timeoutMs` for it (forgetting it). Unwatched, sleeps
    /// and returns false.
    func takeDatabaseWrite(timeoutMs: Int32) -> Bool {
        let deadline = MonotonicCondition.deadline(afterMs: timeoutMs)
        return condition.withLock {
            while !databaseWritten {
                if interrupted && !watched { return false }
                if !condition.wait(until: deadline) { break }
            }
            defer { databaseWritten = false }
            return databaseWritten
        }
    }
}
