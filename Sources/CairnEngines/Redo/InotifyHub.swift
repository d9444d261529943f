import CSystemShim
import Foundation
import Synchronization

/// The process's one inotify instance, shared by every capture it runs: Linux allows each user
/// `fs.inotify.max_user_instances` instances (128 by default), far fewer than the databases
/// one process may capture, and each watch counts against `fs.inotify.max_user_watches`.
///
/// One watch per directory, whatever the number of databases in it, always with the same mask
/// (`inotify_add_watch` on a directory already watched returns the same watch and replaces its
/// mask); subscriptions are counted per watch, and the watch is removed with its last one.
/// A thread of its own reads the events (blocked in `poll` while there are none) and hands each
/// at once to the subscriptions of the file it names (`InotifySubscription`): writes to a file
/// are reported through its directory's watch (`IN_MODIFY` with the file's name).
///
/// A directory deleted, moved or unmounted tells its subscribers their files changed; a watch
/// lost that way leaves them unwatched (their waits then sleep and report that anything may have
/// changed, as without inotify). An overflowing queue (events lost) wakes every subscriber.
package final class InotifyHub: Sendable {
    /// The process's hub, created at the first subscription.
    static let shared = InotifyHub()
    private static let created = Atomic<Bool>(false)
    /// Whether `shared` was created.
    static var exists: Bool { created.load(ordering: .acquiring) }

    /// The user's inotify limits and what is in use (see `InotifyLimits.problems` for what to
    /// tell the user).
    package static var limits: InotifyLimits { InotifyLimits.current() }

    /// The inotify instance, -1 when none could be created (`initError`: why).
    let descriptor: Int32
    let initError: Int32
    /// A pipe whose reading end the reader thread also polls: a byte written to it wakes every
    /// subscriber (from a signal handler too).
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let table = Mutex(Table())

    /// The mask every watch has.
    static let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE
                             | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    private struct Table: ~Copyable {
        var watches: [Int32: Watch] = [:]
        /// Every live subscription, watched or not (`wakeAll` wakes them all).
        var subscriptions: [ObjectIdentifier: InotifySubscription] = [:]
        /// Watches that could not be added, and the last error.
        var failedWatches = 0
        var lastWatchError: Int32 = 0
    }

    /// A watched directory: its subscriptions, by the names they want events of.
    private struct Watch {
        let directory: String
        var byName: [String: [(subscription: InotifySubscription, role: InotifySubscription.Role)]] = [:]
        var subscriptions: [InotifySubscription] = []
    }

    /// Where a signal handler finds the wake descriptor (-1 before the hub exists).
    static let signalWakeDescriptor = Atomic<Int32>(-1)

    private init() {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        descriptor = fd
        initError = fd < 0 ? errno : 0
        var ends: [Int32] = [-1, -1]
        if cairn_pipe_cloexec(&ends) == 0 {
            for e in ends { _ = fcntl(e, F_SETFL, fcntl(e, F_GETFL) | O_NONBLOCK) }
        }
        (wakeReader, wakeWriter) = (ends[0], ends[1])
        Self.signalWakeDescriptor.store(wakeWriter, ordering: .releasing)
        Self.created.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            Thread.current.name = "cairn inotify"
            readEvents()
        }
        thread.stackSize = 1 << 18
        thread.start()
    }

    // MARK: - Subscribing

    /// A subscription to the files of `databasePath`, watched when inotify allows it.
    func subscribe(databasePath: String) -> InotifySubscription {
        let s = InotifySubscription(databasePath: databasePath)
        table.withLock { t in
            t.subscriptions[ObjectIdentifier(s)] = s
            addWatch(for: s, in: &t, counting: true)
        }
        return s
    }

    /// Ends `s`; the directory's watch goes with its last subscription.
    func unsubscribe(_ s: InotifySubscription) {
        table.withLock { t in
            t.subscriptions[ObjectIdentifier(s)] = nil
            removeWatch(of: s, in: &t)
        }
    }

    /// Watches `s`'s directory again after its watch was lost (the directory was deleted and
    /// made again). True when it is watched now.
    func rewatch(_ s: InotifySubscription) -> Bool {
        table.withLock { t in
            guard !s.isWatched, t.subscriptions[ObjectIdentifier(s)] != nil else { return }
            removeWatch(of: s, in: &t)
            addWatch(for: s, in: &t, counting: false)
        }
        return s.isWatched
    }

    /// Adds `s` to its directory's watch, adding the watch if needed; `counting`: a failure
    /// counts in `usage` (a first try, not a retry).
    private func addWatch(for s: InotifySubscription, in t: inout Table, counting: Bool) {
        guard descriptor >= 0 else { return }
        let wd = inotify_add_watch(descriptor, s.directory, Self.mask)
        guard wd >= 0 else {
            if counting { t.failedWatches += 1 }
            t.lastWatchError = errno
            return
        }
        var w = t.watches[wd] ?? Watch(directory: s.directory)
        for (name, role) in s.names { w.byName[name, default: []].append((s, role)) }
        w.subscriptions.append(s)
        t.watches[wd] = w
        s.watch = wd
        s.setWatched(true)
    }

    private func removeWatch(of s: InotifySubscription, in t: inout Table) {
        s.setWatched(false)
        guard let wd = s.watch else { return }
        s.watch = nil
        guard var w = t.watches[wd] else { return }
        w.subscriptions.removeAll { $0 === s }
        if w.subscriptions.isEmpty {
            t.watches[wd] = nil
            inotify_rm_watch(descriptor, wd)
            return
        }
        for (name, _) in s.names {
            w.byName[name]?.removeAll { $0.subscription === s }
            if w.byName[name]?.isEmpty == true { w.byName[name] = nil }
        }
        t.watches[wd] = w
    }

    /// Ends every subscriber's current or next wait at once (a stop or switch request).
    func wakeAll() {
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
    }

    /// `wakeAll` from a signal handler: nothing but an atomic load and write(2).
    static func wakeAllFromSignal() {
        let fd = signalWakeDescriptor.load(ordering: .acquiring)
        guard fd >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    /// Watches and directories as they are now (see `InotifyLimits`).
    var usage: (watches: Int, subscriptions: Int, failedWatches: Int, lastWatchError: Int32) {
        table.withLock { t in (t.watches.count, t.subscriptions.count, t.failedWatches, t.lastWatchError) }
    }

    // MARK: - The reader thread

    private func readEvents() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                usleep(10_000)
                continue
            }
            if fds[1].revents != 0 {
                var bytes = (UInt64(0), UInt64(0))
                while read(wakeReader, &bytes, 16) > 0 {}
                let everyone = table.withLock { t in Array(t.subscriptions.values) }
                for s in everyone { s.interrupt() }
            }
            guard fds[0].revents != 0 else { continue }
            while true {
                let got = read(descriptor, buffer, size)
                if got <= 0 { break }
                dispatch(buffer, count: got)
            }
        }
    }

    /// Hands each event in `buffer` to the subscriptions it concerns, outside the hub's lock.
    private func dispatch(_ buffer: UnsafeMutableRawPointer, count: Int) {
        var deliveries: [(InotifySubscription, InotifySubscription.Role?, UInt32)] = []
        table.withLock { t in
            var off = 0
            while off + 16 <= count {
                let wd = buffer.load(fromByteOffset: off, as: Int32.self)
                let mask = buffer.load(fromByteOffset: off + 4, as: UInt32.self)
                let len = Int(buffer.load(fromByteOffset: off + 12, as: UInt32.self))
                defer { off += 16 + len }
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    for w in t.watches.values { for s in w.subscriptions { deliveries.append((s, nil, mask)) } }
                    continue
                }
                guard let w = t.watches[wd] else { continue }
                if mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
                    for s in w.subscriptions { deliveries.append((s, nil, mask)) }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        // The kernel removed the watch (the directory is gone).
                        for s in w.subscriptions { s.watch = nil }
                        t.watches[wd] = nil
                    }
                    continue
                }
                guard len > 0 else { continue }
                let name = String(cString: (buffer + off + 16).assumingMemoryBound(to: CChar.self))
                for (s, role) in w.byName[name] ?? [] { deliveries.append((s, role, mask)) }
            }
        }
        for (s, role, mask) in deliveries {
            if let role {
                s.deliver(role: role, mask: mask)
            } else if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                s.deliver([.wal, .database, .files], databaseWritten: true)
            } else {
                s.deliver(.files, lost: mask & UInt32(IN_IGNORED) != 0)
            }
        }
    }
}
