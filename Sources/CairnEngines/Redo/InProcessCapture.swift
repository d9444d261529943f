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
package final class InProcessCapture: @unchecked Sendable {
    private let loop: CaptureLoop
    private var capturer: Capturer { loop.capturer }
    private let lock: CaptureLock
    private let connection: OpaquePointer
    private let finished = DispatchSemaphore(value: 0)
    private let state = NSLock()
    private var stopping = false
    private var failure: EngineError?
    private let lastHook = NSLockedDate()
    /// The capturer's SCN as of its last round, for other threads (the capturer itself
    /// belongs to the capture thread).
    private let capturedScn = Atomic<UInt64>(0)
    let logger: Logger

    /// Starts capturing `database`, whose application connection is `connection`.
    package init(database: Catalog, connection: OpaquePointer, logger: Logger = Logger(label: "cairn")) throws(EngineError) {
        try database.requireArchiveLog()
        lock = try database.captureLock()
        let capturer = try Capturer(database: database, logger: logger)
        try capturer.step()
        capturedScn.store(capturer.scn, ordering: .releasing)
        loop = CaptureLoop(capturer: capturer, logger: logger)
        self.connection = connection
        self.logger = logger
        sqlite3_wal_hook(connection, { ctx, _, _, frames in
            let me = Unmanaged<InProcessCapture>.fromOpaque(ctx!).takeUnretainedValue()
            me.capturer.noteCommit(frame: UInt32(frames), atMicros: Capturer.nowMicros())
            me.lastHook.set(Date())
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
        Thread.detachNewThread { [self] in run() }
    }

    private func run() {
        while !state.withLock({ stopping }) {
            do throws(EngineError) {
                // While the application commits, capture through the last commit its hook
                // reported (a commit whose hook has not run yet waits for its exact time);
                // once it is quiet for a moment, capture everything (other connections too).
                try loop.round(throughFrame: { [self] in
                    let recent = lastHook.withLock { Date().timeIntervalSince($0) < 0.25 }
                    return recent && !state.withLock({ stopping }) ? capturer.lastReportedFrame : nil
                })
                capturedScn.store(capturer.scn, ordering: .releasing)
            } catch {
                state.withLock { failure = error }
                logger.error("in-process capture: \(error.description)")
                if case .databaseVanished = error { break }
            }
        }
        finished.signal()
    }

    /// The SCN of the newest captured transaction (as of the capture thread's last round).
    package var scn: UInt64 { capturedScn.load(ordering: .acquiring) }

    /// Captures everything committed, closes the log, archives, and removes the hook.
    package func stop() throws(EngineError) {
        state.withLock { stopping = true }
        finished.wait()
        sqlite3_wal_hook(connection, nil, nil)
        if let failure = state.withLock({ failure }), case .databaseVanished = failure {
            loop.archiveAfterVanishing()
            capturedScn.store(capturer.scn, ordering: .releasing)
            throw failure
        }
        try loop.stop()
        capturedScn.store(capturer.scn, ordering: .releasing)
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
