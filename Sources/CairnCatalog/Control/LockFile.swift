import Foundation
import CairnFormats

/// A file locked with `flock`, shared or exclusive. The kernel drops the lock when its holder
/// exits, however it exits, so a lock never outlives its process. Waits poll with a deadline
/// and say once, after `LockWaitPolicy.noticeAfter`, which processes they wait for.
package final class LockFile {
    package enum Mode {
        case shared, exclusive
        var flag: Int32 { self == .shared ? LOCK_SH : LOCK_EX }
    }

    package let path: String
    private var fd: Int32
    private(set) var held: Mode?

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close() }

    /// Opens (creating it and its directory when missing) the lock file at `path`.
    package static func create(_ path: String) throws(EngineError) -> LockFile {
        try FileSystem.makeDirectories(FileSystem.parent(of: path))
        let fd = FilePermissions.openCreating(path, O_RDWR | O_CREAT | O_CLOEXEC)
        if fd < 0 { throw EngineError.fromErrno("open lock file", path, errno) }
        return LockFile(path: path, fd: fd)
    }

    /// Opens the lock file at `path` without creating or changing anything (read-only
    /// commands); nil when it does not exist or cannot be opened (a read-only copy of a
    /// repository that no other Cairn process can change).
    static func openExisting(_ path: String) -> LockFile? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        return fd < 0 ? nil : LockFile(path: path, fd: fd)
    }

    /// Takes the lock if no other holder prevents it; false otherwise.
    package func tryLock(_ mode: Mode) -> Bool {
        while flock(fd, mode.flag | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            return false
        }
        held = mode
        return true
    }

    /// Takes the lock, waiting as `policy` allows; the error and the notice name the holders
    /// and say what the lock is needed for (`purpose`, e.g. "take a backup").
    func lock(_ mode: Mode, policy: LockWaitPolicy, purpose: String, log: (String) -> Void) throws(EngineError) {
        var waiter = LockWaiter(policy: policy)
        while !tryLock(mode) {
            try waiter.pause(lockFile: path, purpose: purpose, log: log) { LockHolders.describe(path) }
        }
    }

    func unlock() {
        guard held != nil else { return }
        flock(fd, LOCK_UN)
        held = nil
    }

    package func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
        held = nil
    }
}

/// One wait for a lock: sleeps between attempts, tells once what it waits for, and gives up
/// at the policy's deadline.
package struct LockWaiter {
    let policy: LockWaitPolicy
    let started = Date()
    private var told = false
    static let interval: Double = 0.01

    package init(policy: LockWaitPolicy) { self.policy = policy }

    /// Called after a failed attempt: throws `lockNotAcquired` when the time is up, otherwise
    /// sleeps a moment. `holders` describes who holds the lock (read only when needed).
    package mutating func pause(lockFile: String, purpose: String, log: (String) -> Void, holders: () -> String) throws(EngineError) {
        let waited = Date().timeIntervalSince(started)
        if waited >= policy.timeout {
            throw .lockNotAcquired(lockFile: lockFile, holders: holders(), purpose: purpose, waited: policy.timeout == 0 ? 0 : waited)
        }
        if !told && waited >= policy.noticeAfter {
            told = true
            let limit = policy.timeout.isFinite ? "up to \(EngineError.seconds(policy.timeout.rounded()))" : "as long as it takes"
            let message = "waiting to \(purpose): \(holders()) holds \(lockFile) (waiting \(limit); --wait SECONDS, --no-wait)"
            if let notice = policy.notice { notice(message) } else { log(message) }
        }
        Thread.sleep(forTimeInterval: Self.interval)
    }
}
