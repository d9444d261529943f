import CSQLite
import Foundation
import Logging

/// Capture inside the application's own process. SQLite's WAL hook reports each commit of
/// the application's connection the instant it happens, with the frame it ended at, so those
/// transactions get exact commit times; a capture thread writes them to the online log at
/// once. Commits from other connections are still captured, with observed times.
///
/// Registering the hook replaces SQLite's automatic checkpoints on that connection (they use
/// the same hook); Cairn checkpoints after capture instead.
public final class InProcessCapture: @unchecked Sendable {
    private let capturer: Capturer
    private let lock: CaptureLock
    private let connection: OpaquePointer
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let state = NSLock()
    private var stopping = false
    private var failure: CairnError?
    private let lastHook = NSLockedDate()
    let logger: Logger

    /// Starts capturing `database`, whose application connection is `connection`.
    public init(database: ProtectedDatabase, connection: OpaquePointer, logger: Logger = Logger(label: "cairn")) throws(CairnError) {
        try database.requireArchiveLog()
        lock = try database.captureLock()
        capturer = try Capturer(database: database, logger: logger)
        self.connection = connection
        self.logger = logger
        sqlite3_wal_hook(connection, { ctx, _, _, frames in
            let me = Unmanaged<InProcessCapture>.fromOpaque(ctx!).takeUnretainedValue()
            me.capturer.noteCommit(frame: UInt32(frames), atMicros: Capturer.nowMicros())
            me.lastHook.set(Date())
            me.wake.signal()
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
        Thread.detachNewThread { [self] in loop() }
    }

    private func loop() {
        while true {
            let due = capturer.flushDueInMs(interval: 0.02).map { Double($0) / 1000 } ?? 0.25
            _ = wake.wait(timeout: .now() + due)
            let stop = state.withLock { stopping }
            do throws(CairnError) {
                // While the application commits, capture through the last commit its hook
                // reported (a commit whose hook has not run yet waits for its exact time);
                // once it is quiet for a moment, capture everything (other connections too).
                let recent = lastHook.withLock { Date().timeIntervalSince($0) < 0.25 }
                try capturer.step(sync: false, throughFrame: recent && !stop ? capturer.lastReportedFrame : nil)
                if capturer.flushDueInMs(interval: 0.02) == 0 { try capturer.flush() }
                if let since = capturer.unarchivedSince,
                   Date().timeIntervalSince(since) >= capturer.database.control.redo.archiveTimeoutSeconds {
                    try capturer.switchLog()
                    Archiver(database: capturer.database, logger: logger).archivePending()
                }
                try capturer.checkpoint()
            } catch {
                state.withLock { failure = error }
                logger.error("in-process capture: \(error.description)")
            }
            if stop { break }
        }
        finished.signal()
    }

    /// The SCN of the newest captured transaction.
    public var scn: UInt64 { capturer.scn }

    /// Captures everything committed, closes the log, archives, and removes the hook.
    public func stop() throws(CairnError) {
        state.withLock { stopping = true }
        wake.signal()
        finished.wait()
        sqlite3_wal_hook(connection, nil, nil)
        try capturer.stop()
        Archiver(database: capturer.database, logger: logger).archivePending(force: true)
        _ = lock
        if let failure = state.withLock({ failure }) { throw failure }
    }
}

/// A date shared between the hook (the application's thread) and the capture thread.
final class NSLockedDate: @unchecked Sendable {
    private let lock = NSLock()
    private var date = Date.distantPast
    func set(_ d: Date) { lock.withLock { date = d } }
    func withLock<T>(_ body: (Date) -> T) -> T { lock.withLock { body(date) } }
}
