import Foundation
import CairnFormats

/// Capture's pin while frames may remain to be captured: a reader slot, marked one of two ways.
extension WALPin {
    /// Holds a reader slot for capture, which stops restarts (a restart needs every slot), and
    /// marks it either way:
    /// - `holdingCopies`: at the last frame captured (`pinMark`, which moves it the way a
    ///   snapshot's moves). No checkpoint copies a frame capture has not read yet into the
    ///   database file, where it would overwrite the version the frame's change is stored
    ///   against (see `PageChangeFormat`): SQLite's automatic checkpoint (PASSIVE) copies up to
    ///   the mark without waiting. A FULL, RESTART or TRUNCATE checkpoint reading the mark
    ///   behind waits for the slot until capture has caught up (`CaptureLoop` follows it), and
    ///   its busy handler's sleeps grow meanwhile: capture chooses this way while the
    ///   application is not seen running such checkpoints (`ApplicationCheckpoints`).
    /// - otherwise *unused*: a checkpoint never waits for such a slot and copies every frame
    ///   at once (frames copied stay in the WAL, so nothing is lost; those not captured yet are
    ///   stored whole or against an earlier frame, since the version they replace is gone).
    ///
    /// The slot is taken before whatever the pin held is let go of. Only for the WAL generation
    /// capture is in (`captured`): read lock 0 does not stop a restart, so the WAL may have
    /// begun a new generation since capture last read it, and the new generation's frames must
    /// not be copied into the database file before capture has checked the file against what
    /// it captured (`continueInto`). So the index is read again once the slot is held (no
    /// restart can happen then): in another generation the pin stays where it was, and the
    /// next step checks the new generation first. False when the pin is not where it should be.
    @discardableResult
    func pinCaptured(_ captured: WALPosition, holdingCopies: Bool) -> Bool {
        guard !givenBack else { return false }
        guard let before = index.read(), before.sameGeneration(salt1: captured.salt1, salt2: captured.salt2) else { return false }
        captureGeneration = (captured.salt1, captured.salt2)
        if holdingCopies { return pinMark(captured.frame, mxFrame: before.mxFrame, generation: captureGeneration) }
        return pinUnmarked(generation: captureGeneration, mxFrame: before.mxFrame)
    }

    /// A reader slot marked unused: one another checkpoint cannot be waiting for (unused or
    /// marked at the WAL's end) first; failing that, the one it holds (in place), or any free
    /// one but those it let go of while the running checkpoint may be waiting for them. False
    /// when none could be taken (the pin stays as it was, which also stops restarts).
    private func pinUnmarked(generation g: (salt1: UInt32, salt2: UInt32)?, mxFrame: UInt32) -> Bool {
        if case .mark(_, Self.unusedMark) = state {
            makeWayForCheckpoint()
            return true
        }
        let marks = readMarks()
        let held = heldSlots
        let others = [2, 3, 4, 1].filter { !held.contains($0) }
        let fitting = others.filter { cooling[$0] == nil && (marks[$0] == Self.unusedMark || marks[$0] >= mxFrame) }
        for i in fitting + held + others.filter({ !fitting.contains($0) && cooling[$0] == nil }) {
            guard takeSlot(i, mark: Self.unusedMark, held: held.contains(i)) else { continue }
            if let g, index.read()?.sameGeneration(salt1: g.salt1, salt2: g.salt2) != true {
                if !held.contains(i) { unlock(Self.slotByte(i)) }
                return false
            }
            let previous = state
            state = .mark(slot: i, frame: Self.unusedMark)
            release(previous, keeping: i)
            return true
        }
        return false
    }

    /// Capture's unused-marked slot, which a checkpoint may be waiting for (it read a mark
    /// behind there before the pin took the slot): another slot first (restarts stay
    /// stopped), then this one goes. With none free that the checkpoint cannot be waiting
    /// for, the pin rests on read lock 0 alone (`restOnReadLock0`).
    func hopUnmarked(from slot: Int, end mxFrame: UInt32) {
        let marks = readMarks()
        for i in [2, 3, 4, 1] where i != slot && cooling[i] == nil && (marks[i] == Self.unusedMark || marks[i] >= mxFrame) {
            guard takeSlot(i, mark: Self.unusedMark, held: false) else { continue }
            let previous = state
            state = .mark(slot: i, frame: Self.unusedMark)
            release(previous, keeping: i)
            return
        }
        restOnReadLock0()
    }

    /// Read lock 0 alone in place of an unused-marked slot, when frames remain to be copied once
    /// it is held: no checkpoint copies any then, and none restarts the WAL over frames not
    /// copied. (An unused mark lets a checkpoint copy frames capture has not read, so read lock
    /// 0 taken after the last of them was copied would not keep them from being overwritten.)
    private func restOnReadLock0() {
        let before = holdsReadLock0
        guard before || tryLock(Self.readLock0, .shared) else { return }
        guard let now = index.read(), now.nBackfill < now.mxFrame else {
            if !before { unlock(Self.readLock0) }
            return
        }
        _ = holdReadLock0Alone()
    }
}
