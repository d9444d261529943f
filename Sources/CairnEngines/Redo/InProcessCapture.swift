import CSQLite
import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// Capture inside the application's own process. SQLite's WAL hook reports each commit of
/// the application's connection the instant it happens, with the frame it ended at, so those
/// transactions get exact commit times; a capture thread writes them to the online log at
/// once. Commits from other connections are still captured, with observed times, and the
/// application's checkpoints are followed as `cairn archive --follow` follows them.
///
/// Registering the hook replaces SQLite's automatic checkpoints on that connection (they use
/// the same hook); Cairn checkpoints after capture instead.
///
/// The capture loop (capturer, archiver, pins) belongs to the capture thread while it runs
/// and is handed back to `stop()`; the hook and other threads share only Sendable parts:
/// the commit-time queue, the stop flag, the failure and the captured SCN.
package final class InProcessCapture: Sendable {
    /// The capture thread, until `stop()` takes it.
    private let thread = Mutex<JoinableThread<CaptureLoop>?>(nil)
    private let lock: CaptureLock
    private let writer: any ApplicationWriter
    private let databasePath: String
    private let routesLocks: Bool
    private let stopping = Atomic<Bool>(false)
    private let failure = Mutex<EngineError?>(nil)
    private let lastHook = NSLockedDate()
    /// Where the hook reports commits (the capturer's queue).
    private let commits: ExactTimeQueue
    /// The capturer's SCN as of its last round, for other threads (the capturer itself
    /// belongs to the capture thread).
    private let capturedScn = Atomic<UInt64>(0)
    /// Ends the capture thread's wait for a change (at `stop()`).
    private let waker: WALWatcher.Waker
    let logger: Logger

    /// Starts capturing `database`, whose application writes through `writer`: the WAL hook
    /// is installed on the writer connection, and Cairn's checkpoints and write-lock holds go
    /// through it (see `ApplicationWriter`).
    package convenience init(database: Catalog, writer: any ApplicationWriter, logger: Logger = Logger(label: "cairn")) throws(EngineError) {
        try self.init(database: database, writer: writer, routesLocks: true, logger: logger)
    }

    /// Starts capturing `database` for an application connection used directly: only the
    /// WAL hook goes on it (Cairn's checkpoints use connections of their own, since nothing
    /// can queue them with the application's statements on that connection).
    package convenience init(database: Catalog, connection: OpaquePointer, logger: Logger = Logger(label: "cairn")) throws(EngineError) {
        try self.init(database: database, writer: ConnectionWriter(connection), routesLocks: false, logger: logger)
    }

    private init(database: Catalog, writer: any ApplicationWriter, routesLocks: Bool, logger: Logger) throws(EngineError) {
        try database.requireArchiveLog()
        lock = try database.captureLock()
        if routesLocks { ApplicationWriters.register(writer, for: database.databasePath) }
        let capturer: Capturer
        do throws(EngineError) {
            capturer = try Capturer(database: database, logger: logger)
            try capturer.step()
        } catch {
            if routesLocks { ApplicationWriters.remove(for: database.databasePath) }
            throw error
        }
        capturedScn.store(capturer.scn, ordering: .releasing)
        commits = capturer.exactTimes
        self.writer = writer
        self.databasePath = database.databasePath
        self.routesLocks = routesLocks
        self.logger = logger
        let loop = CaptureLoop(capturer: capturer, logger: logger)
        waker = loop.waker
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = try writer.onWriter { (conn: OpaquePointer) throws(EngineError) in
            sqlite3_wal_hook(conn, { ctx, _, _, frames in
                let me = Unmanaged<InProcessCapture>.fromOpaque(ctx!).takeUnretainedValue()
                me.commits.push(frame: UInt32(frames), micros: Capturer.nowMicros())
                me.lastHook.set(Date())
                return SQLITE_OK
            }, context)
        }
        let started = JoinableThread(name: "cairn in-process capture", moving: loop) { [self] loop in
            run(loop)
            return loop
        }
        thread.withLock { $0 = started }
    }

    /// The capture thread: rounds until `stop()` (or the database vanished).
    private func run(_ loop: CaptureLoop) {
        while !stopping.load(ordering: .acquiring) {
            do throws(EngineError) {
                // While the application commits, capture through the last commit its hook
                // reported (a commit whose hook has not run yet waits for its exact time);
                // once it is quiet for a moment, capture everything (other connections too).
                try loop.round(throughFrame: { [self] in
                    let recent = lastHook.withLock { Date().timeIntervalSince($0) < 0.25 }
                    return recent && !stopping.load(ordering: .acquiring) ? commits.lastFrame : nil
                })
                capturedScn.store(loop.capturer.scn, ordering: .releasing)
            } catch {
                failure.withLock { $0 = error }
                logger.error("in-process capture: \(error.description)")
                if case .databaseVanished = error { break }
            }
        }
    }

    /// The SCN of the newest captured transaction (as of the capture thread's last round).
    package var scn: UInt64 { capturedScn.load(ordering: .acquiring) }

    /// Captures everything committed, closes the log, archives, and removes the hook.
    /// Once; a later call does nothing.
    package func stop() throws(EngineError) {
        stopping.store(true, ordering: .releasing)
        waker.wake()
        guard let running = thread.withLock({ $0.take() }) else { return }
        let loop = running.join()
        // Without the hook SQLite checkpoints by itself again, as it did before (its default).
        try? writer.onWriter { (conn: OpaquePointer) throws(EngineError) in
            sqlite3_wal_hook(conn, nil, nil)
            sqlite3_wal_autocheckpoint(conn, 1000)
        }
        defer { if routesLocks { ApplicationWriters.remove(for: databasePath) } }
        if let failure = failure.withLock({ $0 }), case .databaseVanished = failure {
            loop.archiveAfterVanishing()
            capturedScn.store(loop.capturer.scn, ordering: .releasing)
            throw failure
        }
        try loop.stop()
        capturedScn.store(loop.capturer.scn, ordering: .releasing)
        _ = lock
        if let failure = failure.withLock({ $0 }) { throw failure }
    }
}

/// A date shared between the hook (the application's thread) and the capture thread.
final class NSLockedDate: Sendable {
    private let date = Mutex(Date.distantPast)
    func set(_ d: Date) { date.withLock { $0 = d } }
    func withLock<T>(_ body: (Date) -> T) -> T { date.withLock { body($0) } }
}
