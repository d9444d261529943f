import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// `cairn archive --follow`: captures each commit as soon as inotify reports a write to
/// the WAL (and looks at least every 250 ms while it follows something; resting, see
/// `CaptureLoop.Rest`), switches logs by size, by archive timeout and on
/// request, archives closed logs on a thread of its own, keeps out of the way of the
/// application's checkpoints, and checkpoints the WAL. On a clean stop it captures and
/// archives everything committed.
package final class CaptureRunner {
    let database: Catalog
    let logger: Logger
    package var say: (String) -> Void = { _ in }
    /// Set when running as the worker of a `CaptureGuardian`.
    package var guardian: GuardianLink?
    /// The descriptors of the pin this worker shares with its guardian (see `WALPin`).
    var inheritedPin: (shm: Int32, database: Int32)?

    /// Takes over the pin the guardian that started this process passed it, if any.
    package func inheritPinFromGuardian() { inheritedPin = WALPin.inheritedDescriptors() }
    /// Called on the capture thread after each round (the agent's view of capture progress).
    package var onRound: ((Capturer) -> Void)?
    /// Capture and archive what is committed, then stop (a guardian's final worker).
    package var drainOnly = false
    /// Stops this capture after it has captured and archived everything committed.
    package let stopRequest: StopRequest
    /// Stops this capture at once, without archiving (a new guardian takes over: it archives).
    package let yieldRequest = StopRequest(signal: .yield)
    /// Group commit: captured records are made durable at most this long after capture.
    package var syncInterval: TimeInterval = 0.02
    /// Commits arriving within this time are captured in one step.
    package var coalesceInterval: TimeInterval = 0.004

    package init(database: Catalog, logger: Logger = Logger(label: "cairn"), stopRequest: StopRequest = StopRequest()) {
        self.database = database
        self.logger = logger
        self.stopRequest = stopRequest
    }

    package func run() throws(EngineError) {
        try database.requireArchiveLog()
        var lock: CaptureLock? = try waitForCaptureLock()
        defer { _ = lock }
        if drainOnly { stopRequest.request() }
        let capturer = try Capturer(database: database, inheritedPin: inheritedPin, logger: logger)
        let loop = CaptureLoop(capturer: capturer, logger: logger)
        loop.say = say
        loop.syncInterval = syncInterval
        loop.coalesceInterval = coalesceInterval
        // A request from another thread ends the round's wait at once (signals do, through
        // `InotifyHub`): an idle round may otherwise wait up to `CaptureLoop.idlePollMs`.
        let waker = loop.waker
        let observers = [stopRequest.observe { waker.wake() }, yieldRequest.observe { waker.wake() }]
        defer {
            stopRequest.removeObserver(observers[0])
            yieldRequest.removeObserver(observers[1])
        }
        do throws(EngineError) {
            try start(capturer, loop: loop)
            onRound?(capturer)
            var guardianLost = false
            while !stopRequest.isRequested {
                if !guardianLost, let g = guardian, !g.isConnected {
                    guardianLost = true
                    noteGuardianLost()
                }
                if yieldRequest.isRequested {
                    if try handOver(capturer, loop: loop, lock: &lock) { return }
                    continue
                }
                try loop.round()
                onRound?(capturer)
            }
        } catch {
            if case .databaseVanished = error { recordVanished(error, loop: loop, capturer: capturer) }
            throw error
        }
        say("stopping: capturing and archiving everything committed")
        try loop.stop()
        say("stopped at SCN \(capturer.scn); archived through SCN \(database.control.redo.archivedScn)")
    }

    /// A worker waits while a backup captures for itself (it holds the lock briefly); the pin
    /// it shares with its guardian keeps the WAL from being restarted meanwhile. A stop requested
    /// meanwhile is kept: it then captures and archives everything, and stops.
    private func waitForCaptureLock() throws(EngineError) -> CaptureLock {
        let deadline = Date().addingTimeInterval(guardian != nil ? 60 : 0)
        while true {
            do throws(EngineError) { return try database.captureLock() } catch {
                // A worker whose guardian died meanwhile waits on: the holder may be an orphan
                // making way for it, and it still holds its guardian's pin.
                guard case .captureRunning = error, Date() < deadline, !yieldRequest.isRequested else { throw error }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    /// The first step checks continuity and covers what was committed before; from then on
    /// this process's own pins cover everything it captured.
    private func start(_ capturer: Capturer, loop: CaptureLoop) throws(EngineError) {
        let startScn = capturer.scn
        do throws(EngineError) { try capturer.step() } catch {
            // Every group waits for archiving: the rounds archive and capture on.
            guard case .captureStalled = error else { throw error }
            loop.noteStall(error)
        }
        if database.control.redo.captureStopped != nil {
            try database.transact { (c: inout ControlFile) throws(EngineError) in c.redo.captureStopped = nil }
        }
        let who = guardian != nil ? " (worker process \(getpid()))" : ""
        say("capturing \(database.databasePath) from SCN \(startScn)\(who) (Ctrl-C stops after archiving everything committed)")
    }

    /// The guardian died (killed). This worker keeps capturing alone rather than exiting: the
    /// pin it shared with the guardian is now its own and keeps SQLite from restarting the WAL
    /// over frames it has not captured. What is lost is only the restart-on-death the guardian
    /// gave; a new `archive --follow` replaces this worker (it pins first, then asks it to yield).
    private func noteGuardianLost() {
        logger.warning("capture guardian died; capturing alone")
        say("warning: the capture guardian died; this worker (process \(getpid())) keeps capturing under its own pin until stopped; start `cairn archive \(database.databasePath) --follow` again to take it over")
    }

    /// The database file was deleted or replaced: the capturer captured what it could and
    /// closed the log; archive it and record why capture stopped.
    private func recordVanished(_ error: EngineError, loop: CaptureLoop, capturer: Capturer) {
        loop.archiveAfterVanishing()
        let stop = RedoState.CaptureStop(at: Date(), scn: capturer.scn, detail: error.description)
        try? database.transact { (c: inout ControlFile) throws(EngineError) in c.redo.captureStopped = stop }
    }

    /// A new guardian asked this worker to make way (SIGUSR2). It captures what it can and
    /// closes its log, lets go of the capture lock, and waits (still holding its pin) until
    /// another process has taken the lock: the new guardian's worker, which holds that
    /// guardian's pin from its first instant. Only then does it exit, so at every instant one
    /// live process holds a pin, whichever of them is killed meanwhile. When nobody takes the
    /// lock within 10 s (the new guardian died before starting its worker), it takes the lock
    /// back and captures on. True when it handed over.
    private func handOver(_ capturer: Capturer, loop: CaptureLoop, lock: inout CaptureLock?) throws(EngineError) -> Bool {
        loop.stopArchiving()
        do throws(EngineError) {
            try capturer.closeForSuccessor()
        } catch {
            guard case .captureStalled = error else { throw error }
            try capturer.flush()
        }
        let lockFile = database.layout.captureLockFile
        lock = nil
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if CaptureLock.isHeld(path: lockFile), let holder = CaptureLock.holder(path: lockFile), holder != getpid() {
                say("stopped at SCN \(capturer.scn) to let a new capture take over (process \(holder); it archives what is left)")
                return true
            }
            usleep(5_000)
        }
        yieldRequest.clear()
        lock = try waitForCaptureLock()
        loop.resumeArchiving()
        say("no new capture took over within 10 s; capturing on")
        return false
    }
}
