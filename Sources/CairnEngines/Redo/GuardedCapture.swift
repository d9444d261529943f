import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// Capture of one database inside a long-running process that protects many (the agent): the
/// process is its own guardian. It takes the WAL pin (and a connection that keeps the WAL open)
/// before anything else and holds it for as long as it protects the database; capture runs on
/// the calling thread under that same pin (see `WALPin`: one open file description, so the
/// capturer's moves are the pin's). When capture fails, the pin stays where capture left it —
/// SQLite cannot restart the WAL over a frame not yet captured — and capture starts again after
/// a pause, resuming from the online log. A stop captures and archives everything committed.
package final class GuardedCapture: Sendable {
    /// How capture went, for the agent's status.
    package struct Progress: Sendable, Equatable {
        package var scn: UInt64 = 0
        /// The WAL position captured through (its commit frame and salts).
        package var position: WALPosition?
        package var pageSize = 0
        /// When capture last finished a round (caught up with the WAL as it then was).
        package var roundAt: Date?
        package var running = false
        package var lastError: String?
        package var restarts = 0
        /// How many times capture began (a first round after each records what it found on
        /// starting: a gap, a stop).
        package var starts = 0
    }

    package let databasePath: String
    private let logger: Logger
    package let stopRequest = StopRequest(signal: .none)
    private let progress = Mutex(Progress())
    /// Seconds between a failed capture and the next start: doubles from 1 s up to this.
    private let maxPause: TimeInterval

    package init(databasePath: String, maxPause: TimeInterval = 60, logger: Logger) {
        self.databasePath = databasePath
        self.maxPause = maxPause
        self.logger = logger
    }

    package var current: Progress { progress.withLock { $0 } }

    /// The WAL index capture reads while it runs (nil otherwise): the `-shm` its pin is on,
    /// read through a descriptor that is never closed.
    package var walIndex: WALIndex? { index.withLock { $0 } }
    private let index = Mutex<WALIndex?>(nil)

    /// Pins the WAL, then captures until `stopRequest` (everything committed is then captured
    /// and archived) or until the database is gone (throws `.databaseVanished`). `open` gives a
    /// fresh catalog for each start. `onFailure` hears each failure before the pause. While another
    /// process captures the database (`cairn archive --follow`), this one holds no pin (a pin
    /// nobody moves would keep that capture's checkpoints from copying) and looks again later.
    package func run(open: () throws(EngineError) -> Catalog, onFailure: (EngineError, TimeInterval) -> Void) throws(EngineError) {
        var keeper = try DatabaseFiles.openKeeper(databasePath)
        defer { keeper.close() }
        var pin: WALPin?
        defer { pin?.releaseAll() }
        var pause: TimeInterval = 1
        while true {
            do throws(EngineError) {
                let catalog = try open()
                try refuseIfOtherProcessCaptures(catalog)
                if pin == nil { pin = try WALPin(databasePath: databasePath) }
                try capture(catalog, pin: pin!)
                return
            } catch {
                switch error {
                case .databaseVanished: throw error
                case .walReplaced:
                    // Captured what the old WAL held; a pin on the new files, checked against it
                    // (the keeper opened anew first: it has SQLite create them when none exist yet).
                    keeper.close()
                    keeper = try DatabaseFiles.openKeeper(databasePath)
                    pin?.releaseAll()
                    pin = try WALPin(databasePath: databasePath)
                    continue
                case .captureRunning:
                    pin?.releaseAll()
                    pin = nil
                    if stopRequest.isRequested { return }
                default: break
                }
                progress.withLock { $0.running = false; $0.lastError = error.description; $0.restarts += 1 }
                onFailure(error, pause)
                logger.warning("capture of \(databasePath) failed: \(error.description); starting again in \(Int(pause)) s\(pin == nil ? "" : " (the WAL stays pinned)")")
                sleep(pause)
                pause = min(maxPause, pause * 2)
            }
        }
    }

    /// Another process holds the database's capture lock (its own capture, or a command that
    /// captures for itself for a moment): try again later.
    private func refuseIfOtherProcessCaptures(_ catalog: Catalog) throws(EngineError) {
        let lockFile = catalog.layout.captureLockFile
        guard CaptureLock.isHeld(path: lockFile), let holder = CaptureLock.holder(path: lockFile), holder != getpid() else { return }
        throw .captureRunning(pid: holder, lockFile: lockFile)
    }

    private func capture(_ catalog: Catalog, pin: WALPin) throws(EngineError) {
        progress.withLock { $0.starts += 1 }
        index.withLock { $0 = pin.index }
        defer { index.withLock { $0 = nil } }
        let runner = CaptureRunner(database: catalog, logger: logger, stopRequest: stopRequest)
        runner.inheritedPin = (pin.shmDescriptor, pin.databaseDescriptor)
        runner.onRound = { [self] capturer in
            self.progress.withLock {
                $0.scn = capturer.scn
                $0.position = capturer.position
                $0.pageSize = capturer.pageSize
                $0.roundAt = Date()
                $0.running = true
                $0.lastError = nil
            }
        }
        // A stop requested while capture was failing still drains what is committed.
        if stopRequest.isRequested { runner.drainOnly = true }
        defer { progress.withLock { $0.running = false } }
        try runner.run()
    }

    /// Sleeps `seconds`, waking early when a stop is requested.
    private func sleep(_ seconds: TimeInterval) {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end && !stopRequest.isRequested { usleep(50_000) }
    }
}
