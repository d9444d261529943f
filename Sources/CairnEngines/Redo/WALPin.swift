import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// Keeps SQLite from restarting the WAL over frames Cairn has not captured, without ever
/// standing in the way of a checkpoint that would lose nothing.
///
/// SQLite's WAL index (`-shm`) has four reader slots, each a lock byte and a read mark
/// (wal.c; the layout is part of SQLite's file format, shared by every process and release):
/// - A shared lock on a reader slot forbids restarting the WAL (a restart needs every slot
///   exclusively), and its read mark keeps checkpoints from copying frames past it.
/// - A shared lock on read lock 0 (a reader of the database file alone) does not stop a
///   restart, but stops every checkpoint from copying anything (copying needs it exclusively),
///   so only frames that were already copied when it was taken can ever be overwritten.
///
/// A pin is one of those, held the way SQLite's own readers hold them, with one difference:
/// Cairn writes the read mark itself. How that makes an application's checkpoint of any mode
/// cooperative (it completes as it would without Cairn, delayed at most by the capture of what
/// is already committed, and returns SQLITE_OK), with no instant unpinned:
/// - Capture holds a reader slot (`pinCaptured`), marked at the last frame it captured, so
///   that no checkpoint copies a frame into the database file before capture has read it and
///   the version it replaces (the base of its change, see `PageChangeFormat`); or, while the
///   application runs FULL, RESTART or TRUNCATE checkpoints (which would wait for a mark
///   behind), marked *unused*: a checkpoint skips such a slot when it decides how far it may
///   copy, so it copies every frame at once; copied frames stay in the WAL, so nothing capture
///   has not read yet is lost. Only a restart needs every slot, and is stopped.
/// - A RESTART or TRUNCATE checkpoint, having copied everything, waits (its busy handler) for
///   the reader slots. Capture watches the checkpoint lock (`CaptureLoop.keepPinsCurrent`):
///   it captures the last frames, makes its records durable, and moves the pin to read lock 0
///   (`pinFileAlone`) — taken before the slot is let go of, and only once every frame is both
///   captured and copied, which SQLite's rules make safe: a reader of read lock 0 reads the
///   database file alone and does not stop a restart, but stops any later frame from being
///   copied, so the only frames a restart can overwrite are ones already captured. The
///   checkpoint's next try gets the slots and restarts the WAL.
/// - The next frames are then captured under read lock 0, and the pin moves back into a
///   slot marked unused before letting go of read lock 0.
/// A backup's snapshot pin (`SnapshotKeeper`) holds a real read mark instead: it must keep
/// copying behind the frames whose old page versions it has saved. It moves the mark forward
/// as it saves them, and never into a slot a running checkpoint may be waiting for (`pinMark`).
///
/// The locks are open-file-description locks (Linux F_OFD_SETLK), not a process's: a child
/// given the descriptors holds the same pin, and the pin lasts until the last descriptor goes.
/// A guardian and its worker share one pin this way: the worker moves it, and whichever of the
/// two dies, the other still holds it. The descriptors are never closed (closing any
/// descriptor of `-shm` or the database would drop the POSIX locks of this process's SQLite
/// connections, see `SharedFiles`): a pin let go of hands them to the next pin of the process.
///
/// A shared lock on the database file's SHARED range is held too, as every connection in WAL
/// mode holds one: without it the application's last connection to close could take the
/// database exclusively, copy every frame and delete the WAL, reader slots or not.
final class WALPin {
    let index: WALIndex
    /// The `-shm` and database descriptors that carry the pin.
    let shmDescriptor: Int32
    let databaseDescriptor: Int32
    /// The files the pin was taken on.
    let files: DatabaseFiles
    /// Whether the pin is shared with another process (inherited from a guardian): then it
    /// is never let go of when this object goes, only by `releaseAll()`.
    let shared: Bool
    /// Where the descriptors go back to once the pin is let go of (nil: inherited).
    var poolKey: String?

    enum State: Equatable {
        /// Read lock 0 and one reader slot (all four when none could be singled out): no
        /// restart, no copy. A new or inherited pin, until the first step has checked the WAL.
        case settingUp(slots: [Int])
        /// A reader slot with read mark `frame`: a snapshot's last saved frame, or capture's
        /// last captured frame.
        case mark(slot: Int, frame: UInt32)
        /// Read lock 0 only: every frame was captured and copied when it was taken.
        case fileAlone
        case released
    }
    var state = State.released
    /// The WAL index as it was once the pin was set up: nothing a checkpoint or restart could
    /// do to the frames up to its last frame has happened since (nil: not initialised).
    private(set) var pinnedAt: WALIndexState?

    private let markBuffer = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 4)
    /// Slots let go of while a checkpoint ran, with the mark left there and when: the
    /// checkpoint may be waiting for one of them (see `pinMark`), until it resets the mark, or
    /// has had time to try again. SQLite's default busy handler sleeps 1, 2, 5 ... 50, then
    /// 100 ms between tries: a slot taken back sooner could be the one it wakes up to find
    /// held again, for as long as its busy timeout lasts.
    var cooling: [Int: (mark: UInt32, since: Date)] = [:]
    static let coolingSeconds: TimeInterval = 0.15

    static let readLock0: Int64 = 123
    static func slotByte(_ i: Int) -> Int64 { readLock0 + Int64(i) }
    static func markOffset(_ i: Int) -> UInt64 { 100 + 4 * UInt64(i) }
    static let unusedMark: UInt32 = 0xffff_ffff
    /// SQLite's SHARED lock range of the database file (unix VFS: PENDING_BYTE + 2, 510 bytes).
    static let sharedFirst: Int64 = 0x4000_0002, sharedSize: Int64 = 510

    /// A pin on `databasePath`'s WAL. With `inherited` descriptors (a guardian's, passed to
    /// its worker) the pin is the one they carry, in whatever state. Either way it starts by
    /// blocking every restart and every copy until the capturer moves it.
    init(databasePath: String, inherited: (shm: Int32, database: Int32)? = nil) throws(EngineError) {
        index = try WALIndex(databasePath: databasePath)
        files = DatabaseFiles(databasePath: databasePath)
        shared = inherited != nil
        if let inherited {
            shmDescriptor = inherited.shm
            databaseDescriptor = inherited.database
            poolKey = nil
        } else {
            let taken = try WALPinDescriptors.take(databasePath)
            (poolKey, shmDescriptor, databaseDescriptor) = (taken.key, taken.shm, taken.database)
        }
        markBuffer.storeBytes(of: 0, as: UInt32.self)
        do throws(EngineError) {
            try Self.lock(databaseDescriptor, Self.sharedFirst, Self.sharedSize, .shared, path: databasePath)
            try setUp()
        } catch {
            releaseAll()
            throw error
        }
    }

    deinit {
        if !shared { releaseAll() }
        markBuffer.deallocate()
    }

    // MARK: - Descriptors and locks


    enum LockKind: Int32 { case unlock = 0, shared = 1, exclusive = 2 }

    /// Takes a lock, retrying for up to 5 s while SQLite holds a conflicting one for a moment.
    private static func lock(_ fd: Int32, _ offset: Int64, _ length: Int64, _ kind: LockKind, path: String) throws(EngineError) {
        let deadline = Date().addingTimeInterval(5)
        while cairn_ofd_lock(fd, offset, length, kind.rawValue) != 0 {
            let e = errno
            guard e == EAGAIN || e == EACCES || e == EINTR else { throw EngineError.fromErrno("lock", path, e) }
            guard Date() < deadline else {
                throw .databaseBusy(path: path, detail: "SQLite held a lock Cairn needs to pin the WAL (bytes \(offset)+\(length)) for 5 s")
            }
            usleep(200)
        }
    }

    func tryLock(_ offset: Int64, _ kind: LockKind) -> Bool {
        cairn_ofd_lock(shmDescriptor, offset, 1, kind.rawValue) == 0
    }

    func unlock(_ offset: Int64) { _ = cairn_ofd_lock(shmDescriptor, offset, 1, LockKind.unlock.rawValue) }

    func writeMark(_ value: UInt32, slot i: Int) -> Bool {
        markBuffer.storeBytes(of: value, as: UInt32.self)
        return pwrite(shmDescriptor, markBuffer, 4, off_t(Self.markOffset(i))) == 4
    }

    func readMark(slot i: Int) -> UInt32 {
        guard i > 0, pread(shmDescriptor, markBuffer, 4, off_t(Self.markOffset(i))) == 4 else { return 0 }
        return markBuffer.load(as: UInt32.self)
    }

    // MARK: - Setting up

    /// Blocks every restart and every copy: read lock 0 and one reader slot, held shared. The
    /// slot's mark is set to the WAL's end (readers and writers that find no free slot share a
    /// slot whose mark is not past the WAL's end; with every slot taken and none such, SQLite
    /// would fail them). All four slots are locked for a moment first, which also takes over
    /// whatever an inherited pin held.
    func setUp() throws(EngineError) {
        try Self.lock(shmDescriptor, Self.slotByte(1), 4, .shared, path: index.path)
        try Self.lock(shmDescriptor, Self.readLock0, 1, .shared, path: index.path)
        pinnedAt = index.read()
        let end = pinnedAt?.mxFrame ?? 0
        for i in 1...4 where tryLock(Self.slotByte(i), .exclusive) {
            let marked = writeMark(end, slot: i)
            _ = tryLock(Self.slotByte(i), .shared)
            guard marked else { continue }
            for other in 1...4 where other != i { unlock(Self.slotByte(other)) }
            state = .settingUp(slots: [i])
            return
        }
        state = .settingUp(slots: [1, 2, 3, 4])
    }

    // MARK: - Moving

    /// The WAL generation of capture's last `pinCaptured` (nil: a snapshot's pin).
    var captureGeneration: (salt1: UInt32, salt2: UInt32)?

    /// When a checkpoint has made no progress for a millisecond although the pin's mark is the
    /// WAL's last frame, it may be waiting for the pin's slot (having read the mark there while
    /// it was behind, or a reader's before the pin took the slot): the pin then leaves that slot
    /// for another, through read lock 0, once per mark, or again once the slots it left have
    /// cooled (`cooling`) and the checkpoint is still where it was.
    func makeWayForCheckpoint() {
        guard case .mark(let slot, let frame) = state, index.isLocked(.checkpoint), let now = index.read(),
              now.mxFrame == frame || frame == Self.unusedMark, !hoppedRecently(at: now.mxFrame),
              now.nBackfill < now.mxFrame, now.nBackfillAttempted <= now.nBackfill else {
            stuckSince = nil
            return
        }
        guard let since = stuckSince else { stuckSince = Date(); return }
        guard Date().timeIntervalSince(since) >= 0.001 else { return }
        hopped = (now.mxFrame, Date())
        stuckSince = nil
        if frame == Self.unusedMark {
            hopUnmarked(from: slot, end: now.mxFrame)
            return
        }
        _ = holdReadLock0Alone()
        pinMark(frame, mxFrame: now.mxFrame, generation: captureGeneration)
    }

    var stuckSince: Date?
    /// The WAL's last frame at the pin's last hop, and when.
    var hopped: (mxFrame: UInt32, at: Date)?

    func hoppedRecently(at mxFrame: UInt32) -> Bool {
        guard let hopped, hopped.mxFrame == mxFrame else { return false }
        return Date().timeIntervalSince(hopped.at) < Self.coolingSeconds
    }

    /// The read marks (index 0 unused), after letting go of the cooling slots no checkpoint
    /// can still be waiting for.
    func readMarks() -> [UInt32] {
        let marks = (0..<5).map { readMark(slot: $0) }
        if !index.isLocked(.checkpoint) || index.read()?.fullyBackfilled == true {
            cooling.removeAll()
        } else {
            cooling = cooling.filter { marks[$0.key] == $0.value.mark && Date().timeIntervalSince($0.value.since) < Self.coolingSeconds }
        }
        return marks
    }

    var heldSlots: [Int] {
        switch state {
        case .settingUp(let slots): return slots
        case .mark(let slot, _): return [slot]
        case .fileAlone, .released: return []
        }
    }

    var holdsReadLock0: Bool {
        switch state {
        case .settingUp, .fileAlone: return true
        case .mark, .released: return false
        }
    }

    /// Lets go of what the pin held in `previous`, except reader slot `keep`. Slots are left
    /// with their marks as they are, as SQLite's readers leave theirs: a checkpoint that read a
    /// mark behind waits for the slot, and resets it once it gets it.
    func release(_ previous: State, keeping keep: Int?) {
        let checkpointing = index.isLocked(.checkpoint)
        let left: [Int]
        switch previous {
        case .settingUp(let slots): left = slots
        case .mark(let slot, _): left = [slot]
        case .fileAlone, .released: left = []
        }
        for s in left where s != keep {
            unlock(Self.slotByte(s))
            if checkpointing { cooling[s] = (readMark(slot: s), Date()) }
        }
        switch previous {
        case .settingUp, .fileAlone: if !holdsReadLock0 { unlock(Self.readLock0) }
        case .mark, .released: break
        }
    }

    /// Moves the pin to read lock 0, when `captured` (the last commit captured) is the WAL's
    /// last frame and every frame is copied into the database file: a restart may then
    /// overwrite only captured frames. Checked again once the lock is held (no checkpoint can
    /// copy a frame while it is). False when that is not the case now, or a checkpoint is
    /// copying frames (it holds read lock 0 exclusively).
    @discardableResult
    func pinFileAlone(captured: WALPosition) -> Bool {
        guard !givenBack else { return false }
        if state == .fileAlone { return true }
        guard holdsReadLock0 || tryLock(Self.readLock0, .shared) else { return false }
        guard let now = index.read(), Self.everythingCopied(now, captured: captured) else {
            if !holdsReadLock0 { unlock(Self.readLock0) }
            return false
        }
        let previous = state
        state = .fileAlone
        release(previous, keeping: nil)
        return true
    }

    /// Whether every frame of the WAL is copied and captured (`captured` is the last commit
    /// captured): nothing a restart could overwrite is missing from the logs.
    static func everythingCopied(_ state: WALIndexState, captured: WALPosition) -> Bool {
        guard state.fullyBackfilled else { return false }
        if state.mxFrame == 0 { return true }
        return state.sameGeneration(salt1: captured.salt1, salt2: captured.salt2) && captured.frame == state.mxFrame
    }

    /// Whether capture and pin are where the WAL's `now` wants them, with `captured` the last
    /// commit captured: every commit captured, and the pin on read lock 0 when everything is
    /// copied, else a reader slot marked at the last frame captured or unused (`pinCaptured`).
    func isCurrent(for now: WALIndexState, captured: WALPosition) -> Bool {
        if Self.everythingCopied(now, captured: captured) { return state == .fileAlone }
        guard now.sameGeneration(salt1: captured.salt1, salt2: captured.salt2), captured.frame == now.mxFrame else { return false }
        if case .mark(_, let mark) = state, mark == captured.frame || mark == Self.unusedMark { return true }
        return false
    }

    /// Lets go of everything (capture stopped cleanly: nothing is left uncaptured).
    /// A pin whose descriptors went back to the pool does nothing more.
    func releaseAll() {
        guard !givenBack else { return }
        for i in 1...4 { unlock(Self.slotByte(i)) }
        unlock(Self.readLock0)
        _ = cairn_ofd_lock(databaseDescriptor, Self.sharedFirst, Self.sharedSize, LockKind.unlock.rawValue)
        state = .released
        if let key = poolKey {
            poolKey = nil
            givenBack = true
            WALPinDescriptors.giveBack(key, shmDescriptor, databaseDescriptor)
        }
    }

    var givenBack = false

    var isPinned: Bool { state != .released }

    // MARK: - Handing the pin to a worker

    /// The environment variable through which a worker learns the descriptors of the pin it
    /// shares with its guardian ("SHM,DATABASE").
    static let environmentKey = "CAIRN_PIN_FDS"
    /// The descriptor numbers a worker gets them on.
    static let childDescriptors: (shm: Int32, database: Int32) = (3, 4)

    /// The pin's descriptors inherited from the parent process, if it passed them.
    static func inheritedDescriptors() -> (shm: Int32, database: Int32)? {
        guard let v = ProcessInfo.processInfo.environment[environmentKey] else { return nil }
        let parts = v.split(separator: ",").compactMap { Int32($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 2 && fcntl($0, F_GETFD) >= 0 }) else { return nil }
        for fd in parts { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (parts[0], parts[1])
    }
}
