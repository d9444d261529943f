import Foundation
import CairnFormats
import CairnCatalog

/// Cairn's own checkpoint: keeps the WAL near its target when the application does not.
extension Capturer {
    /// Lets SQLite restart the WAL once it holds more than the WAL target of captured frames.
    /// Everything committed is captured and made durable and the pin moved to the end first;
    /// then a PASSIVE checkpoint copies every frame into the database file, and the pin moves
    /// once more, to read lock 0 (see `WALPin`), so the next writer restarts the WAL. Only when writers keep committing while that runs
    /// are they blocked, for the few milliseconds it takes to capture and copy the last frames.
    ///
    /// When the application checkpoints by itself (see `ApplicationCheckpoints`) Cairn leaves
    /// it to the application while the WAL stays under four times its target: two checkpoints
    /// cannot run at once, and the application's would get SQLITE_BUSY.
    /// Returns false when the WAL could not be fully copied (it runs again at the next step).
    @discardableResult
    package func checkpoint(force: Bool = false) throws(EngineError) -> Bool {
        checkpointPutOff = false
        // (A setting: as the control file was last read, without looking at its copies again.)
        let target = max(database.controlAsLastRead.redo.walTargetBytes, 1)
        let walBytes = UInt64(position.frame) * UInt64(map.pageSize + WALFile.frameHeaderSize)
        if !force && walBytes < target { return true }
        // While capture's read mark holds copying back (no checkpoint of the application that
        // blocks writers is expected, see `WALPin.pinCaptured`), SQLite's automatic checkpoint
        // can copy only up to it: the WAL is never all copied when a writer begins, so it does
        // not restart and grows, and every commit past the automatic-checkpoint size copies
        // (two fsyncs). Cairn copies instead, at its target, with writers held for that moment
        // (a checkpoint the application runs right after a commit then finds the write lock
        // taken, not the checkpoint lock, and waits instead of failing).
        let holdingCopies = !applicationCheckpoints.blockingExpected()
        if !force, !holdingCopies, walBytes < 4 * target, applicationCheckpoints.expected() {
            checkpointPutOff = true
            return true
        }
        try step()
        // Another checkpoint runs (the application's): it may need this pin to move, which this
        // thread would not do while it waited for locks the other holds. Try at the next round.
        if !force && pins.index.isLocked(.checkpoint) { return false }
        if holdingCopies { return try checkpointWithWritersBlocked(waitMs: force ? 2_000 : 3) }
        if try copyAndRepin() { return true }
        // Writers that commit back to back leave the write lock free only for moments; waiting
        // for it here would keep this thread from following an application's checkpoint that
        // begins meanwhile (which holds the write lock and waits for the pin), so a round waits
        // a few milliseconds only, and the next round tries again.
        return try checkpointWithWritersBlocked(waitMs: force ? 2_000 : 3)
    }

    /// Runs a PASSIVE checkpoint; when it copied every frame and nothing was committed since,
    /// moves the pins to read the database file alone. True when it did.
    private func copyAndRepin(onWriter writer: OpaquePointer? = nil) throws(EngineError) -> Bool {
        ownCheckpointRunning = true
        defer { ownCheckpointRunning = false }
        let copied = try passiveCheckpoint(onWriter: writer)
        // What this checkpoint copied is not the application's (see `noteIndex`).
        let state = pins.index.read()
        if let state { lastSeenIndex = state }
        guard copied else { return false }
        guard let state, state.fullyBackfilled,
              state.mxFrame == 0 || (state.sameGeneration(salt1: position.salt1, salt2: position.salt2) && state.mxFrame == position.frame) else {
            return false
        }
        try step()
        lastCheckpointScn = scn
        return true
    }

    /// Blocks writers (BEGIN IMMEDIATE) for as long as it takes to capture the last commits,
    /// copy them and move the pins; the hold is measured and recorded.
    private func checkpointWithWritersBlocked(waitMs: Int32) throws(EngineError) -> Bool {
        if let app = ApplicationWriters.writer(for: database.databasePath) {
            // Inside the application: its writes wait in its writer's queue meanwhile, and
            // the checkpoint runs on that connection (which a transaction of its own would
            // keep from checkpointing), so no SQLite lock is taken from the application.
            let held = Date()
            defer { WriteLockHolds.record(layout: database.layout, operation: "checkpoint", seconds: Date().timeIntervalSince(held)) }
            return try app.onWriter { (conn: OpaquePointer) throws(EngineError) -> Bool in
                try step()
                return try copyAndRepin(onWriter: conn)
            }
        }
        let writer = try SQLiteConnection(path: database.databasePath, busyTimeoutMs: waitMs)
        defer { writer.close() }
        do throws(EngineError) { try writer.exec("BEGIN IMMEDIATE") } catch { return false }
        let held = Date()
        func lap(_ what: String) { logger.debug("checkpoint with writers blocked: \(what) at \(Int(Date().timeIntervalSince(held) * 1e6)) µs") }
        defer {
            try? writer.exec("ROLLBACK")
            lap("released")
            WriteLockHolds.record(layout: database.layout, operation: "checkpoint", seconds: Date().timeIntervalSince(held))
        }
        try step()
        lap("captured")
        let done = try copyAndRepin()
        lap("copied")
        return done
    }

    /// A PASSIVE checkpoint: on the application's writer when Cairn runs inside the
    /// application (queued with its own checkpoints, which then never find Cairn's running),
    /// else on capture's own connection. True when it copied every frame.
    private func passiveCheckpoint(onWriter writer: OpaquePointer?) throws(EngineError) -> Bool {
        if let writer { return (try? WriterCheckpoint.passive(writer, path: database.databasePath)) ?? false }
        if let app = ApplicationWriters.writer(for: database.databasePath) {
            return (try? app.checkpointPassive(path: database.databasePath)) ?? false
        }
        guard let row = try? checkpointer.rows("PRAGMA wal_checkpoint(PASSIVE)").first else { return false }
        return row.count == 3 && row[0] == "0"
    }

    /// Notes the WAL index a step saw.
    /// Frames copied that Cairn's own checkpoint did not copy (in the same generation, or the
    /// rest of the previous one before a restart) mean the application checkpoints by itself:
    /// Cairn's own checkpoint then waits while the WAL stays small, since a checkpoint of the
    /// application that begins while Cairn's runs fails at once with SQLITE_BUSY (SQLite does
    /// not wait for another checkpoint).
    func noteIndex(_ state: WALIndexState?) {
        guard let state else { return }
        if !ownCheckpointRunning, let last = lastSeenIndex {
            let sameGeneration = state.sameGeneration(salt1: last.salt1, salt2: last.salt2)
            if sameGeneration ? state.nBackfill > last.nBackfill : last.nBackfill < last.mxFrame {
                applicationCheckpoints.seen()
            }
        }
        lastSeenIndex = state
    }
}
