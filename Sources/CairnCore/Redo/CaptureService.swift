import Foundation
import Logging

/// `cairn archive --follow`: captures each commit as soon as inotify reports a write to
/// the WAL (and at least every 250 ms), switches logs by size, by archive timeout and on
/// request, archives closed logs on a thread of its own, and checkpoints the WAL. On a clean
/// stop it captures and archives everything committed.
public final class CaptureService {
    let database: ProtectedDatabase
    let logger: Logger
    public var say: (String) -> Void = { _ in }
    /// Set when running as the worker of a `CaptureGuardian`.
    public var guardian: GuardianLink?
    /// Capture and archive what is committed, then stop (a guardian's final worker).
    public var drainOnly = false
    /// Stops this capture after it has captured and archived everything committed.
    public let stopRequest = StopRequest()
    /// Group commit: captured records are made durable at most this long after capture
    /// (one fdatasync for every transaction committed meanwhile).
    public var syncInterval: TimeInterval = 0.02
    /// Commits arriving within this time are captured in one step (fewer WAL reads and
    /// pin moves while a writer commits thousands of times a second).
    public var coalesceInterval: TimeInterval = 0.004

    public init(database: ProtectedDatabase, logger: Logger = Logger(label: "cairn")) {
        self.database = database
        self.logger = logger
    }

    public func run() throws(CairnError) {
        try database.requireArchiveLog()
        // A worker waits while a backup captures for itself (it holds the lock briefly). A stop
        // requested meanwhile is kept: it then captures and archives everything, and stops.
        var lock: CaptureLock?
        let deadline = Date().addingTimeInterval(guardian != nil ? 60 : 0)
        while lock == nil {
            do throws(CairnError) { lock = try database.captureLock() } catch {
                guard case .captureRunning = error, Date() < deadline else { throw error }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        defer { _ = lock }
        if drainOnly { stopRequest.request() }
        let capturer = try Capturer(database: database, logger: logger)
        capturer.guardian = guardian
        let archiver = Archiver(database: database, logger: logger)
        let worker = ArchiverThread(archiver: archiver)
        worker.start()
        defer { worker.stop() }
        let watcher = WALWatcher(databasePath: database.databasePath)
        let startScn = capturer.scn
        var started = false
        var stalledSince: Date?
        var guardianLost = false
        while !stopRequest.isRequested {
            if let g = guardian, !guardianLost, !g.isConnected {
                // The guardian died (killed). This worker keeps capturing alone rather than
                // exiting: its own pins keep SQLite from restarting the WAL over frames it has
                // not captured, so every commit stays protected (invariant 1) with no new
                // mechanism. Exiting, even after capturing everything, would leave the WAL
                // unpinned until someone starts capture again, and an application checkpoint
                // could then restart the WAL over commits made meanwhile: a gap. What is lost
                // is only the restart-on-death the guardian gave; a new `archive --follow`
                // replaces this worker cleanly (it pins first, then stops it with SIGTERM).
                guardianLost = true
                logger.warning("capture guardian died; capturing alone")
                say("warning: the capture guardian died; this worker (process \(getpid())) keeps capturing under its own pins until stopped; start `cairn archive \(database.databasePath) --follow` again to take it over")
            }
            watcher.wait(timeoutMs: capturer.flushDueInMs(interval: syncInterval) ?? 250)
            if coalesceInterval > 0 { Thread.sleep(forTimeInterval: coalesceInterval) }
            do throws(CairnError) {
                try capturer.step(sync: false)
                if !started {
                    // Said after the first step, which checks continuity (possibly waiting for the
                    // write lock): from here on this process's own pins cover everything it captured.
                    started = true
                    let who = guardian != nil ? " (worker process \(getpid()))" : ""
                    say("capturing \(database.databasePath) from SCN \(startScn)\(who) (Ctrl-C stops after archiving everything committed)")
                }
                if capturer.flushDueInMs(interval: syncInterval) == 0 { try capturer.flush() }
                if stalledSince != nil { say("capture resumed"); stalledSince = nil }
                let c = database.control
                if CaptureSignals.takeSwitchLog() {
                    try capturer.switchLog()
                    worker.poke()
                } else if let since = capturer.unarchivedSince, Date().timeIntervalSince(since) >= c.redo.archiveTimeoutSeconds {
                    try capturer.switchLog()
                    worker.poke()
                }
                if database.control.redo.groups.contains(where: { $0.status == .active }) { worker.poke() }
                try capturer.checkpoint()
            } catch {
                if case .captureStalled = error {
                    if stalledSince == nil {
                        stalledSince = Date()
                        logger.warning("\(error.description)")
                        say("warning: \(error.description)")
                    }
                    worker.poke()
                    continue
                }
                throw error
            }
        }
        say("stopping: capturing and archiving everything committed")
        worker.stop()
        var stopError: CairnError?
        for attempt in 0..<50 {
            do throws(CairnError) {
                try capturer.stop()
                stopError = nil
                break
            } catch {
                stopError = error
                guard case .captureStalled = error else { break }
                archiver.archivePending(force: true)
                Thread.sleep(forTimeInterval: attempt < 5 ? 0.1 : 1)
            }
        }
        archiver.archivePending(force: true)
        if let stopError { throw stopError }
        let c = database.control
        say("stopped at SCN \(capturer.scn); archived through SCN \(c.redo.archivedScn)")
    }
}

/// Runs the archiver on its own thread: every half second, or at once when poked.
final class ArchiverThread: @unchecked Sendable {
    let archiver: Archiver
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false
    private var running = false

    init(archiver: Archiver) { self.archiver = archiver }

    func start() {
        running = true
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping }) {
                archiver.archivePending()
                _ = wake.wait(timeout: .now() + 0.5)
            }
            done.signal()
        }
    }

    func poke() { wake.signal() }

    func stop() {
        guard running else { return }
        running = false
        lock.withLock { stopping = true }
        wake.signal()
        done.wait()
    }
}

/// Waits for writes to the WAL through inotify on the database's directory.
final class WALWatcher {
    private let fd: Int32
    private let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 8)

    init(databasePath: String) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd >= 0 {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE)
            _ = inotify_add_watch(fd, FileSystem.parent(of: databasePath), mask)
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Returns when the directory changed or after `timeoutMs`.
    func wait(timeoutMs: Int32) {
        guard fd >= 0 else { usleep(UInt32(timeoutMs) * 1000); return }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, timeoutMs) > 0 {
            while read(fd, buffer, 8192) > 0 {}
        }
    }
}
