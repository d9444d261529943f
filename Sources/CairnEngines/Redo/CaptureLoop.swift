import CSystemShim
import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// A running capture, round by round: waits until the database's files change (or a flush
/// or the archive timeout is due), captures, makes records durable in groups, switches and
/// archives logs, keeps the pins where the application's checkpoints need them, and runs
/// Cairn's own checkpoint. Shared by `cairn archive --follow` and in-process capture.
final class CaptureLoop {
    let capturer: Capturer
    let archiver: Archiver
    let archiverThread: PeriodicPass
    /// Fills the remote repositories behind archiving (no request while nothing is due).
    let shipperThread: PeriodicPass
    let watcher: WALWatcher
    let logger: Logger
    var say: (String) -> Void = { _ in }
    /// Group commit: captured records are made durable at most this long after capture.
    var syncInterval: TimeInterval = 0.02
    /// Commits arriving within this time are captured in one step.
    var coalesceInterval: TimeInterval = 0.004
    var stalledSince: Date?
    /// How long after the database file was last written a checkpoint is followed.
    static let checkpointFollowSeconds: TimeInterval = 1
    /// The archive timeout as of the last round (the control file is read there).
    var archiveTimeout: TimeInterval
    /// The fraction of the archive timeout after which this log is switched, drawn anew for
    /// each log between 0.5 and 1: databases written together (an agent's, started at once)
    /// would otherwise switch at the same instant every time, each switch's fsyncs queued
    /// behind all the others' (at 50 databases, every capture stood still for a second).
    var switchSpread = CaptureLoop.drawSwitchSpread()
    /// How long after its first record the current log is switched.
    var switchAfter: TimeInterval { archiveTimeout * switchSpread }
    static func drawSwitchSpread() -> Double { Double.random(in: 0.5...1) }
    /// What the last round left (see `Rest`).
    var rest = Rest.busy
    /// This capture's entry in `RestingLooks` while it rests.
    var looked: Int?
    /// A round found commits no event had announced: rounds then come every `pollMs`.
    var eventsMissed = false
    /// Whether the warning that events are missed was logged (once per capture).
    var unannouncedReported = false
    /// The control file's update sequence number as the last round saw it: when it changes
    /// (a log closed or archived, a backup recorded, a destination or remote configured, by
    /// any process) the archiver and the remote shipper are poked, as they do not poll.
    var controlUSN: UInt64?
    /// When this thread's stack was last given back (see `trimStackWhenResting`).
    var stackTrimmed = Date.distantPast
    /// `RedoState.switchRequests` as last acted on (the requests before this capture began are
    /// not its to act on).
    var switchRequestsSeen: UInt64

    init(capturer: Capturer, logger: Logger) {
        self.capturer = capturer
        self.logger = logger
        archiver = Archiver(database: capturer.database, logger: logger)
        let shipper = RemoteShipper(database: capturer.database, logger: logger)
        shipperThread = PeriodicPass(name: "cairn shipper") {
            if shipper.hasPending() { shipper.shipPending() }
            return shipper.nextRetry()
        }
        archiverThread = PeriodicPass(name: "cairn archiver") { [archiver, shipperThread] in
            if archiver.archivePending() > 0 { shipperThread.poke() }
            return archiver.nextRetry()
        }
        watcher = WALWatcher(databasePath: capturer.database.databasePath)
        archiveTimeout = capturer.database.control.redo.archiveTimeoutSeconds
        switchRequestsSeen = capturer.database.control.redo.switchRequests ?? 0
        archiverThread.start()
        shipperThread.start()
        capturer.applicationCheckpoints.begin()
    }

    deinit {
        if let looked { RestingLooks.shared.remove(looked) }
        archiverThread.stop()
        shipperThread.stop(wait: false)
    }

    /// Ends the current or next wait for a change at once (a stop requested from another thread).
    var waker: WALWatcher.Waker { watcher.waker }

    /// Whether the last round left nothing to follow (see `Rest`).
    var isResting: Bool { rest != .busy }

    /// Waits for a change, then captures (up to `throughFrame` when given) and does what is due.
    func round(throughFrame: () -> UInt32? = { nil }) throws(EngineError) {
        let resting = rest
        rest = .busy
        let events = watcher.wait(timeoutMs: waitMs(resting))
        if let looked {
            RestingLooks.shared.remove(looked)
            self.looked = nil
        }
        pokeOnControlChange()
        capturer.controlLookedThisRound = true
        defer { capturer.controlLookedThisRound = false }
        noteAnnounced(events)
        do throws(EngineError) {
            if events == .wal { try coalesce() }
            let captured = try capturer.step(sync: false, throughFrame: throughFrame())
            if captured > 0, events == nil, resting != .busy { noteUnannounced() }
            try keepPinsCurrent(throughFrame: throughFrame)
            if capturer.flushDueInMs(interval: syncInterval) == 0 { try capturer.flush() }
            if stalledSince != nil { say("capture resumed"); stalledSince = nil }
            try switchWhenDue()
            let copied = try capturer.checkpoint()
            rest = copied ? restAfterRound() : .busy
            if rest == .quiet { lookWhileResting() }
            if resting == .busy, rest != .busy { trimStackWhenResting() }
        } catch {
            guard case .captureStalled = error else { throw error }
            noteStall(error)
        }
    }

    /// Commits close together are captured in one step: waits `coalesceInterval` after a
    /// commit, unless a checkpoint begins meanwhile (often the application's, right after a
    /// commit): then at once. While the application is seen running FULL, RESTART or TRUNCATE
    /// checkpoints, capture's read mark does not hold copying back (see `WALPin.pinCaptured`),
    /// such a checkpoint waits for capture only once it has copied everything, and the wait
    /// wakes on that write to the database file (only checkpoints write it) rather than
    /// polling, which would cost the application's writes more than it saves. Otherwise a
    /// checkpoint reads capture's mark, still before that commit, and one that blocks writers
    /// waits for it to move before copying anything, its busy handler sleeping longer at each
    /// try (1, 2, 5, 10 ms ...; the count goes on through its later wait for the reader
    /// slots): then the checkpoint lock is looked at each millisecond, the wait ending at
    /// once on a write to the database file.
    private func coalesce() throws(EngineError) {
        guard coalesceInterval > 0 else { return }
        let index = capturer.pins.index
        if capturer.applicationCheckpoints.blockingExpected() {
            guard !index.isLocked(.checkpoint) else { return }
            _ = watcher.waitForDatabaseWrite(timeoutMs: Int32(coalesceInterval * 1000))
            return
        }
        let deadline = Date().addingTimeInterval(coalesceInterval)
        watcher.forgetDatabaseWrites()
        while Date() < deadline {
            if index.isLocked(.checkpoint) {
                // Seen while it runs: a blocking one holds the lock while its busy handler
                // waits for the mark behind (1, 2, 5 ms ... at a time).
                if index.blockingCheckpointRunning() { try noteBlockingCheckpoint() }
                return
            }
            // Woken at once by a write to the database file (a checkpoint copying), else the
            // checkpoint lock is looked at again each millisecond.
            if watcher.databaseWritten(waitingMs: 1) { return }
        }
    }

    /// Keeps the pin where the WAL's current state wants it, so a checkpoint of another
    /// connection (the application's, or its automatic one) is never held up by it: a read mark
    /// behind the last commit (a commit landed while the step ran) moves up once the commit is
    /// captured, and once the checkpoint has copied every frame into the database file the pin
    /// moves to read lock 0, so a RESTART or TRUNCATE waiting for it goes on at its next try.
    /// Commits made meanwhile are captured at once. While a checkpoint holds the checkpoint
    /// lock this follows it (every 250 µs, for up to a second); otherwise it returns after
    /// one look.
    private func keepPinsCurrent(throughFrame: () -> UInt32?) throws(EngineError) {
        let index = capturer.pins.index
        let deadline = Date().addingTimeInterval(Self.checkpointFollowSeconds)
        var steps = 0
        var traced = false
        var precise = false
        defer { if precise { _ = cairn_set_timer_slack(50_000) } }
        while true {
            guard let state = index.read() else { return }
            let following = index.isLocked(.checkpoint)
            if following && index.blockingCheckpointRunning() { try noteBlockingCheckpoint() }
            if !capturer.pins.isCurrent(for: state, captured: capturer.position) && steps < (following ? 4000 : 3) {
                if Self.tracePins, steps == 100 {
                    logger.warning("pin not current after 100 steps: \(state) pin \(capturer.pins.state) slots \(index.readerSlots()) locks \(index.lockHolders()) captured \(capturer.position.frame)")
                }
                if WALPin.everythingCopied(state, captured: capturer.position) {
                    // Only the pin is behind: the copy is done and read lock 0 is let go of
                    // a moment after. Move it at once (see `closing`), without a step.
                    if steps >= 3 { if steps < 200 { sched_yield() } else { usleep(100) } }
                    try capturer.movePin()
                } else {
                    // (After the first few tries the pin waits for a free slot: poll, don't spin.)
                    if steps >= 3 { usleep(100) }
                    try capturer.step(sync: false, throughFrame: throughFrame())
                }
                steps += 1
                continue
            }
            guard following, Date() < deadline else { return }
            // The records must be durable before the pin lets the WAL be restarted: make them
            // so while the checkpoint copies frames, not after.
            if capturer.unsyncedSince != nil { try capturer.flush() }
            capturer.pins.makeWayForCheckpoint()
            if Self.tracePins, !traced, deadline.timeIntervalSinceNow < Self.checkpointFollowSeconds - 0.05 {
                traced = true
                let p = capturer.pins
                logger.warning("checkpoint waiting 50 ms: \(state) pin \(p.state) slots \(index.readerSlots()) locks \(index.lockHolders()) captured \(capturer.position.frame) steps \(steps)")
            }
            if closing(state) {
                if !precise { _ = cairn_set_timer_slack(1_000); precise = true }
                usleep(20)
            } else {
                usleep(250)
            }
        }
    }

    /// Notes a checkpoint of the application that blocks writers. The first after a while may
    /// have found capture's read mark behind and be waiting for it: the pin moves at once to a
    /// slot marked unused, so the checkpoint copies while capture catches up, rather than after.
    private func noteBlockingCheckpoint() throws(EngineError) {
        let expected = capturer.applicationCheckpoints.blockingExpected()
        capturer.applicationCheckpoints.seenBlocking()
        if !expected { try capturer.movePin() }
    }

    /// Whether the running checkpoint is copying every frame, all of them captured and
    /// durable: the pin should then move to read lock 0 the moment the copy ends. A writer
    /// that begins right after its checkpoint (SQLite's automatic checkpoint runs in the
    /// committing connection) restarts the WAL only if no reader slot is held by then; when one
    /// is, it appends, and since the WAL stays over its automatic-checkpoint size, its next
    /// commit checkpoints again (two more fsyncs), and so at every commit until a restart
    /// succeeds. The copy takes milliseconds (two fsyncs); the writer's next commit comes within
    /// a fraction of one, which a 250 µs poll would mostly miss.
    private func closing(_ state: WALIndexState) -> Bool {
        let captured = capturer.position
        return capturer.unsyncedSince == nil && state.nBackfill < state.mxFrame
            && state.nBackfillAttempted == state.mxFrame
            && state.sameGeneration(salt1: captured.salt1, salt2: captured.salt2) && captured.frame == state.mxFrame
    }

    static let tracePins = ProcessInfo.processInfo.environment["CAIRN_TRACE_PINS"] != nil

    /// Switches the log on request (SIGUSR1, or `RedoState.switchRequests` moved: `cairn
    /// switch-log` reaching a capture no signal reaches) and when its oldest record is older
    /// than the archive timeout; wakes the archiver when a log waits.
    private func switchWhenDue() throws(EngineError) {
        // Looked at on disk at the start of the round (`pokeOnControlChange`).
        let c = capturer.database.controlAsLastRead
        archiveTimeout = c.redo.archiveTimeoutSeconds
        // The next log is opened with the switch (claimed in the same control-file update), not
        // at the next commit: that commit, often the first after a quiet spell, would otherwise
        // wait for the control file's and the new log's fsyncs (with 50 databases starting to
        // be written at once, for a second).
        let requests = c.redo.switchRequests ?? 0
        let requested = requests != switchRequestsSeen
        switchRequestsSeen = requests
        if CaptureSignals.takeSwitchLog() || requested {
            try capturer.switchLog(openingNext: true)
            logClosed()
        } else if let since = capturer.unarchivedSince, Date().timeIntervalSince(since) >= switchAfter {
            try capturer.switchLog(openingNext: true)
            switchSpread = Self.drawSwitchSpread()
            logClosed()
        } else if c.redo.groups.contains(where: { $0.status == .active }) {
            archiverThread.poke()
        }
    }

    /// A log was closed: the archiver copies it now, the remote shipper sends it.
    private func logClosed() {
        archiverThread.poke()
        shipperThread.poke()
    }

    /// Every online log group waits for archiving: archive here and now (not only on the
    /// archiver's schedule), and say so once.
    func noteStall(_ error: EngineError) {
        if stalledSince == nil {
            stalledSince = Date()
            logger.warning("\(error.description)")
            say("warning: \(error.description)")
        }
        if archiver.archivePending(force: false) == 0 { archiverThread.poke() }
    }

    /// Captures and archives everything committed, closes the log and releases the pins.
    /// Alternates capturing and archiving for as long as archiving makes progress (small
    /// logs fill many groups); gives up, with the reason, only when it makes none for `patience`.
    func stop(patience: TimeInterval = 30) throws(EngineError) {
        archiverThread.stop()
        // Not waited for: a remote that crawls must not hold a stop back (what it was sending is
        // not recorded, and is sent again by the next capture or command).
        shipperThread.stop(wait: false)
        var lastProgress = Date()
        while true {
            do throws(EngineError) {
                try capturer.stop()
                break
            } catch {
                guard case .captureStalled = error else { throw error }
                if archiver.archivePending(force: true) > 0 {
                    lastProgress = Date()
                } else if Date().timeIntervalSince(lastProgress) > patience {
                    throw error
                } else {
                    Thread.sleep(forTimeInterval: 0.2)
                }
            }
        }
        archiver.archivePending(force: true)
    }

    /// Stops the archiver thread after the copy it is making (another capture takes over and
    /// archives the rest; two archivers must not copy the same log at once).
    func stopArchiving() {
        archiver.interruption.request()
        archiverThread.stop()
        shipperThread.stop(wait: false)
    }

    /// Starts the archiver thread again (a hand-over that did not happen).
    func resumeArchiving() {
        archiver.interruption.clear()
        archiverThread.start()
        shipperThread.start()
    }

    /// The database vanished: archive what was captured (the capturer closed the log).
    func archiveAfterVanishing() {
        archiverThread.stop()
        archiver.archivePending(force: true)
    }
}
