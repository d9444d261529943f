import Foundation
import CairnFormats
import CairnCatalog

/// Waits for changes to a database's files through inotify on its directory, and says which
/// file changed: the WAL (a commit), the database file (a checkpoint copying frames), or the
/// set of files (one created, deleted or renamed).
final class WALWatcher {
    struct Events: OptionSet {
        let rawValue: Int
        static let wal = Events(rawValue: 1)
        static let database = Events(rawValue: 2)
        static let files = Events(rawValue: 4)
        static let none: Events = []
    }

    private let fd: Int32
    private let buffer = UnsafeMutableRawPointer.allocate(byteCount: 16384, alignment: 8)
    private let databaseName: String

    /// A second instance watching the database file alone, for `waitForDatabaseWrite`.
    private let databaseFd: Int32

    init(databasePath: String) {
        databaseName = (databasePath as NSString).lastPathComponent
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd >= 0 {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE)
            _ = inotify_add_watch(fd, FileSystem.parent(of: databasePath), mask)
        }
        databaseFd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if databaseFd >= 0 { _ = inotify_add_watch(databaseFd, databasePath, UInt32(IN_MODIFY)) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if databaseFd >= 0 { close(databaseFd) }
        buffer.deallocate()
    }

    /// Sleeps up to `timeoutMs`, waking at once when the database file is written (in WAL
    /// mode only a checkpoint writes it); commits to the WAL do not wake it. True when woken
    /// by a write. Without inotify, simply sleeps.
    func waitForDatabaseWrite(timeoutMs: Int32) -> Bool {
        guard databaseFd >= 0 else {
            usleep(UInt32(max(0, timeoutMs)) * 1000)
            return false
        }
        while read(databaseFd, buffer, 16384) > 0 {}
        var p = pollfd(fd: databaseFd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    /// Returns what changed in the database's files once something did, or nil after
    /// `timeoutMs` (changes to other files in the directory, a log file among them, are not
    /// waited for: they neither end the wait nor count).
    func wait(timeoutMs: Int32) -> Events? {
        let deadline = Date().addingTimeInterval(Double(max(0, timeoutMs)) / 1000)
        guard fd >= 0 else {
            usleep(UInt32(max(0, timeoutMs)) * 1000)
            return [.wal, .database]
        }
        while true {
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, left) > 0 else { return nil }
            let seen = drain()
            if !seen.isEmpty { return seen }
            if left == 0 { return nil }
        }
    }

    /// Reads every pending event without waiting.
    func drain() -> Events {
        guard fd >= 0 else { return .none }
        var seen: Events = []
        while true {
            let n = read(fd, buffer, 16384)
            if n <= 0 { break }
            var off = 0
            while off + 16 <= n {
                let mask = buffer.load(fromByteOffset: off + 4, as: UInt32.self)
                let len = Int(buffer.load(fromByteOffset: off + 12, as: UInt32.self))
                let name = len > 0 ? String(cString: (buffer + off + 16).assumingMemoryBound(to: CChar.self)) : ""
                seen.formUnion(classify(name: name, mask: mask))
                off += 16 + len
            }
        }
        return seen
    }

    private func classify(name: String, mask: UInt32) -> Events {
        let structural = mask & UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) != 0
        switch name {
        case databaseName: return structural ? [.files, .database] : .database
        case databaseName + "-wal": return structural ? [.files, .wal] : .wal
        case databaseName + "-shm": return structural ? .files : .none
        default: return .none
        }
    }
}
