import CSystemShim
import Foundation

/// Keeps SQLite from restarting the WAL while it is locked, whichever process holds it:
/// shared locks on the four reader slots of `-shm` (WAL_READ_LOCK(1..4), bytes 124..127),
/// taken as open-file-description locks.
///
/// SQLite restarts the WAL only with an exclusive lock on all of those slots (a writer's
/// restart, a RESTART or TRUNCATE checkpoint), so while this lock stands no frame is ever
/// overwritten; checkpoints still copy frames into the database file as far as the slots'
/// read marks allow, and readers share the slots as usual. Unlike a read transaction, the
/// lock belongs to the open file description, not to a process: a child given a copy of the
/// descriptor holds it too, and it lasts until it is unlocked or every copy is closed.
///
/// It bridges the moments when no capture process holds a pin of its own yet: a guardian
/// locks it before starting its worker, which inherits it, so a guardian killed while its
/// worker starts leaves the WAL protected; the worker unlocks it once its own pins cover
/// everything it captured. While it is locked an application's RESTART or TRUNCATE
/// checkpoint waits (its busy handler retries), so it is held only that long.
///
/// The descriptor is never closed: closing any descriptor of `-shm` would drop every POSIX
/// lock this process's SQLite connections hold on it, read marks included (see `SharedFiles`).
/// One descriptor per index is kept for the life of the process and locked again when needed.
public final class RestartBlocker: @unchecked Sendable {
    /// The descriptor that carries the lock (close-on-exec; a child gets a copy explicitly).
    public let descriptor: Int32
    static let slotsOffset: Int64 = 124
    static let slotsLength: Int64 = 4
    nonisolated(unsafe) private static var open: [String: RestartBlocker] = [:]
    private static let tableLock = NSLock()

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// The blocker of the index of `databasePath` (one per index file in this process).
    public static func forDatabase(_ databasePath: String) throws(CairnError) -> RestartBlocker {
        let path = databasePath + "-shm"
        guard let id = FileIdentity(path: path) else { throw .missingFile(path: path, detail: "the WAL index does not exist") }
        tableLock.lock()
        defer { tableLock.unlock() }
        if let b = open[id.description] { return b }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw CairnError.fromErrno("open the WAL index", path, errno) }
        let b = RestartBlocker(descriptor: fd)
        open[id.description] = b
        return b
    }

    /// Locks, retrying for up to `timeout` while SQLite holds a slot exclusively for a moment.
    public func lock(timeout: TimeInterval = 5) throws(CairnError) {
        let deadline = Date().addingTimeInterval(timeout)
        while cairn_ofd_lock(descriptor, Self.slotsOffset, Self.slotsLength, 1) != 0 {
            let e = errno
            guard e == EAGAIN || e == EACCES || e == EINTR else {
                throw CairnError.fromErrno("lock the reader slots of the WAL index", "fd \(descriptor)", e)
            }
            guard Date() < deadline else {
                throw .databaseBusy(path: "fd \(descriptor)", detail: "a reader slot of the WAL index stayed locked exclusively for \(Int(timeout)) s")
            }
            usleep(200)
        }
    }

    /// Unlocks (for every process holding a copy of the descriptor).
    public func unlock() {
        _ = cairn_ofd_lock(descriptor, Self.slotsOffset, Self.slotsLength, 0)
    }

    /// The environment variable through which a worker learns the descriptor it inherited.
    public static let environmentKey = "CAIRN_RESTART_BLOCKER_FD"
    /// The descriptor number a worker gets its copy on.
    public static let childDescriptor: Int32 = 3

    /// The blocker inherited from the parent process, if it passed one (a guardian's worker).
    public static func inherited() -> RestartBlocker? {
        guard let v = ProcessInfo.processInfo.environment[environmentKey], let fd = Int32(v), fd > 2,
              fcntl(fd, F_GETFD) >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return RestartBlocker(descriptor: fd)
    }
}
