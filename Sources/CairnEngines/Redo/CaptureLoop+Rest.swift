import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// How long a capture waits between rounds, and what it leaves to `RestingLooks` meanwhile.
extension CaptureLoop {
    /// What the last round left for the next to do:
    /// - `busy`: something to follow (a checkpoint, a pin to move, a stall, commits not
    ///   captured yet) or no watch: the next round is at most `pollMs` away.
    /// - `quiet`: every commit captured and durable, the pin where the WAL wants it, no
    ///   checkpoint running, the files watched. Whatever the application does next begins with
    ///   a write to the WAL or the database file (a commit, a checkpoint copying frames, a file
    ///   created, deleted or renamed), which ends the wait at once. What no event reports is
    ///   looked at every 2 s by `RestingLooks` (the WAL index as it was, no checkpoint holding
    ///   its lock, the same control file), which wakes the capture when it changed; otherwise
    ///   the next round comes after `restingRoundMs` (in case an event was missed), or when the
    ///   archive timeout or the end of the expectation of checkpoints that block writers
    ///   (`ApplicationCheckpoints.blockingExpected`, which decides how the pin is marked) is due.
    /// - `quietUntil`: the same, but Cairn's own checkpoint is put off while the application
    ///   is expected to checkpoint (see `ApplicationCheckpoints`), which ends with time alone:
    ///   rounds come every `quietUntilMs`.
    enum Rest: Equatable {
        case busy
        case quiet
        case quietUntil
    }

    /// The longest wait while something is followed, while resting, and while Cairn's own
    /// checkpoint is put off.
    static let pollMs: Int32 = 250
    static let restingRoundMs: Int32 = 30_000
    static let quietUntilMs: Int32 = 2_000

    /// How long the next wait may last: until a flush, the archive timeout or the end of the
    /// expectation of blocking checkpoints is due, and at most as long as `Rest` says.
    func waitMs(_ resting: Rest) -> Int32 {
        var seconds: Double
        switch resting {
        case .busy: seconds = Double(Self.pollMs) / 1000
        case .quietUntil: seconds = Double(Self.quietUntilMs) / 1000
        case .quiet: seconds = Double(Self.restingRoundMs) / 1000
        }
        if resting != .busy, let until = capturer.applicationCheckpoints.blockingExpectedUntil() {
            seconds = min(seconds, max(0, until.timeIntervalSinceNow))
        }
        if let since = capturer.unarchivedSince {
            let due = switchAfter - Date().timeIntervalSince(since)
            // (Overdue: the last round's switch failed, and a busy round tries again.)
            if due > 0 { seconds = min(seconds, due) }
        }
        let ms = Int32((seconds * 1000).rounded(.up))
        guard let flush = capturer.flushDueInMs(interval: syncInterval) else { return ms }
        return min(ms, flush)
    }

    /// Pokes the archiver and the remote shipper when the control file changed since the last
    /// look: what they have to do is recorded there.
    func pokeOnControlChange() {
        let usn = capturer.database.controlUSN
        guard usn != controlUSN else { return }
        controlUSN = usn
        archiverThread.poke()
        shipperThread.poke()
    }

    /// Coming to rest, the capture thread gives back the stack its work grew (a log switch, a
    /// checkpoint: tens of KiB each, for each of hundreds of captures), once a minute at most.
    func trimStackWhenResting() {
        guard Date().timeIntervalSince(stackTrimmed) >= 60 else { return }
        stackTrimmed = Date()
        _ = cairn_trim_stack()
    }

    /// What this round leaves (see `Rest`).
    func restAfterRound() -> Rest {
        guard watcher.isWatched, !eventsMissed, stalledSince == nil, capturer.unsyncedSince == nil else { return .busy }
        let index = capturer.pins.index
        guard let state = index.read(), !index.isLocked(.checkpoint),
              capturer.pins.isCurrent(for: state, captured: capturer.position) else { return .busy }
        return capturer.checkpointPutOff ? .quietUntil : .quiet
    }

    /// Has `RestingLooks` look at what no event reports while this capture rests: the WAL index
    /// as this round left it, the checkpoint lock, the control file (see `Rest`).
    func lookWhileResting() {
        pokeOnControlChange()
        let index = capturer.pins.index, catalog = capturer.database
        guard let state = index.read(), let usn = controlUSN else {
            rest = .busy
            return
        }
        let look: @Sendable () -> Bool = { index.read() != state || index.isLocked(.checkpoint) || catalog.controlUSN != usn }
        looked = RestingLooks.shared.add(.init(look: look, waker: watcher.waker))
    }

    /// A round after a quiet wait that ended with no event captured commits: their writes
    /// should have ended the wait. Unless an event for the WAL comes within `lateEventMs` (the
    /// commit landed as the wait timed out or a resting look woke the capture first, and a
    /// loaded machine delivers the event late; any later commit's event ends the wait at
    /// once), inotify misses this database's writes (a file system that does not report them):
    /// rounds come every `pollMs` until an event for the WAL shows that it does report them.
    func noteUnannounced() {
        if let late = watcher.wait(timeoutMs: Self.lateEventMs) {
            watcher.putBack(late)
            if late.contains(.wal) { return }
        }
        guard !eventsMissed else { return }
        eventsMissed = true
        if !unannouncedReported {
            unannouncedReported = true
            logger.warning("capture of \(capturer.database.databasePath) found commits no inotify event announced; it looks for them every \(Self.pollMs) ms until one does")
        }
    }

    /// An event for the WAL arrived: inotify reports this database's writes after all.
    func noteAnnounced(_ events: WALWatcher.Events?) {
        if eventsMissed, events?.contains(.wal) == true { eventsMissed = false }
    }

    /// How long a commit no event announced waits for a late event before inotify is taken to
    /// miss this database's writes: short, since a checkpoint waiting for capture's read mark
    /// writes nothing that would end the wait (a late event later ends the polling anyway).
    static let lateEventMs: Int32 = 20
}
