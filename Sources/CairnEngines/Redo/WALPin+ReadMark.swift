import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// A pin holding a real read mark (a backup's snapshot, `SnapshotKeeper`): checkpoints may
/// copy frames up to the mark and no further, and the mark moves forward as the snapshot's
/// page versions are saved.
extension WALPin {
    /// Holds a reader slot whose read mark is `frame` (the last frame captured, of the WAL
    /// generation the index is in, whose last frame was `mxFrame`), then lets go of every
    /// other lock of the pin. False when the pin is not there yet (it then holds read lock 0,
    /// and the caller catches up and calls again; or nothing changed and it tries again).
    ///
    /// Safety: a checkpoint reads each slot's mark once, then copies up to the lowest mark it
    /// read (waiting for the lock of a slot whose mark is behind). A move takes the new slot
    /// before letting go of the old, and lets go of the old only once the new mark is the WAL's
    /// last frame (no running checkpoint's view of the end is past it) or no checkpoint runs
    /// (the next one reads the new mark); otherwise read lock 0 is held in between, without
    /// which no checkpoint copies anything.
    ///
    /// Liveness: a checkpoint waiting for a slot's lock never reads its mark again. So the pin
    /// moves only into slots no checkpoint can be waiting for: unused, or marked at the WAL's
    /// end (a checkpoint resets a behind slot once it gets it, and slots are let go of with
    /// their marks as they are, as SQLite's readers leave them), never into one it let go of
    /// while the same checkpoint runs; and when none is free it holds read lock 0 alone, so
    /// a checkpoint waiting for its old slot gets it (then waits for read lock 0, which goes
    /// as soon as a slot is free again).
    ///
    /// With `generation` (capture's pin), the slot is kept only if the WAL is still in that
    /// generation once it is held (see `pinCaptured`).
    @discardableResult
    func pinMark(_ frame: UInt32, mxFrame: UInt32, generation: (salt1: UInt32, salt2: UInt32)? = nil) -> Bool {
        guard !givenBack else { return false }
        if case .mark(_, frame) = state {
            makeWayForCheckpoint()
            return true
        }
        let marks = readMarks()
        let held = heldSlots
        let fitting = [2, 3, 4, 1].filter { !held.contains($0) && cooling[$0] == nil }
            .filter { marks[$0] == Self.unusedMark || marks[$0] >= mxFrame }
        var candidates = fitting + (holdsReadLock0 ? held : [])
        if generation != nil, !index.isLocked(.checkpoint) {
            // Capture's pin, which moves at every commit and so leaves its old marks behind in
            // the slots it let go of (a checkpoint resets them only once it runs): with no
            // checkpoint running none can be waiting for a slot, and any free one will do,
            // rather than resting on read lock 0 alone, which a checkpoint beginning then
            // would wait for while capture, seeing no write, would not follow it.
            candidates += (held + [2, 3, 4, 1]).filter { !candidates.contains($0) }
        }
        for i in candidates {
            guard takeSlot(i, mark: frame, held: held.contains(i)) else { continue }
            if let g = generation, index.read()?.sameGeneration(salt1: g.salt1, salt2: g.salt2) != true {
                if !held.contains(i) { unlock(Self.slotByte(i)) }
                return false
            }
            return settle(slot: i, frame: frame)
        }
        return holdReadLock0Alone()
    }

    /// Locks slot `i` exclusively, writes the mark, and holds it shared (as a reader holds it;
    /// converting keeps the lock throughout). A slot the pin did not hold is let go of again
    /// when the mark cannot be written.
    func takeSlot(_ i: Int, mark frame: UInt32, held: Bool) -> Bool {
        let byte = Self.slotByte(i)
        guard tryLock(byte, .exclusive) else { return false }
        let written = writeMark(frame, slot: i)
        _ = tryLock(byte, .shared)
        if !written && !held { unlock(byte) }
        return written
    }

    /// After slot `i` got mark `frame`: lets go of the rest when that is safe now, else holds
    /// read lock 0 in between (or, when a checkpoint copying frames holds it, gives up the new
    /// slot and keeps the old).
    func settle(slot i: Int, frame: UInt32) -> Bool {
        if let now = index.read(), now.mxFrame == frame || !index.isLocked(.checkpoint) {
            let previous = state
            state = .mark(slot: i, frame: frame)
            release(previous, keeping: i)
            return true
        }
        guard holdsReadLock0 || tryLock(Self.readLock0, .shared) else {
            if !heldSlots.contains(i) { unlock(Self.slotByte(i)) }
            return false
        }
        let previous = state
        state = .settingUp(slots: [i])
        release(previous, keeping: i)
        return false
    }

    /// Holds read lock 0 and no slot: no checkpoint copies a frame and, with frames not copied
    /// yet, none restarts the WAL. False (the pin is not where it should be yet).
    func holdReadLock0Alone() -> Bool {
        guard holdsReadLock0 || tryLock(Self.readLock0, .shared) else { return false }
        let previous = state
        state = .settingUp(slots: [])
        release(previous, keeping: nil)
        return false
    }
}
