import CSystemShim
import Foundation

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
/// Cairn writes the read mark itself, at the last frame it captured, so a checkpoint may copy
/// everything captured and nothing more. Once every frame is captured and copied, the pin
/// moves to read lock 0 and a RESTART, TRUNCATE or the next writer's restart goes ahead. A pin
/// moves by taking its new place before letting go of the old, and never into a slot whose
/// mark is behind: a checkpoint reads every mark when it starts, then keeps trying to lock each
/// slot whose mark was behind until it gets it.
///
/// The locks are open-file-description locks (Linux F_OFD_SETLK), not a process's: a child
/// given the descriptors holds the same pin, and the pin lasts until the last descriptor goes.
/// A guardian and its worker share one pin this way: the worker moves it, and whichever of the
/// two dies, the other still holds it. The descriptors are never closed (closing any
/// descriptor of `-shm` or the database would drop the POSIX locks of this process's SQLite
/// connections, see `SharedFiles`).
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

    enum State: Equatable {
        /// Read lock 0 and one reader slot (all four when none could be singled out): no
        /// restart, no copy. A new or inherited pin, until the first step has checked the WAL.
        case settingUp(slots: [Int])
        /// A reader slot whose read mark is the last frame captured.
        case mark(slot: Int, frame: UInt32)
        /// Read lock 0 only: every frame was captured and copied when it was taken.
        case fileAlone
        case released
    }
    private(set) var state = State.released

    private let markBuffer = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 4)
    /// Slots let go of while a checkpoint may have been reading marks (see `candidateSlots`).
    private var cooling = Set<Int>()

    static let readLock0: Int64 = 123
    static func slotByte(_ i: Int) -> Int64 { readLock0 + Int64(i) }
    static func markOffset(_ i: Int) -> UInt64 { 100 + 4 * UInt64(i) }
    static let unusedMark: UInt32 = 0xffff_ffff
    /// SQLite's SHARED lock range of the database file (unix VFS: PENDING_BYTE + 2, 510 bytes).
    static let sharedFirst: Int64 = 0x4000_0002, sharedSize: Int64 = 510

    /// A pin on `databasePath`'s WAL. With `inherited` descriptors (a guardian's, passed to
    /// its worker) the pin is the one they carry, in whatever state. Either way it starts by
    /// blocking every restart and every copy until the capturer moves it.
    init(databasePath: String, inherited: (shm: Int32, database: Int32)? = nil) throws(CairnError) {
        index = try WALIndex(databasePath: databasePath)
        files = DatabaseFiles(databasePath: databasePath)
        shared = inherited != nil
        if let inherited {
            shmDescriptor = inherited.shm
            databaseDescriptor = inherited.database
        } else {
            (shmDescriptor, databaseDescriptor) = try Self.descriptors(databasePath)
        }
        markBuffer.storeBytes(of: 0, as: UInt32.self)
        try Self.lock(databaseDescriptor, Self.sharedFirst, Self.sharedSize, .shared, path: databasePath)
        try setUp()
    }

    deinit {
        if !shared { releaseAll() }
        markBuffer.deallocate()
    }

    // MARK: - Descriptors and locks

    /// The descriptors pins of this process take on a database's files: opened once per file
    /// and kept (a capturer made for each backup must not leave a descriptor behind, and none
    /// may ever be closed). One capturer per database at a time holds them (the capture lock).
    private static func descriptors(_ databasePath: String) throws(CairnError) -> (Int32, Int32) {
        let shmPath = databasePath + "-shm"
        guard let shmID = FileIdentity(path: shmPath), let dbID = FileIdentity(path: databasePath) else {
            throw .missingFile(path: shmPath, detail: "the WAL index or the database does not exist")
        }
        let key = "\(shmID) \(dbID)"
        tableLock.lock()
        defer { tableLock.unlock() }
        if let d = table[key] { return d }
        let shm = try open(shmPath)
        let db = try open(databasePath)
        table[key] = (shm, db)
        return (shm, db)
    }

    nonisolated(unsafe) private static var table: [String: (Int32, Int32)] = [:]
    private static let tableLock = NSLock()

    private static func open(_ path: String) throws(CairnError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw CairnError.fromErrno("open", path, errno) }
        return fd
    }

    enum LockKind: Int32 { case unlock = 0, shared = 1, exclusive = 2 }

    /// Takes a lock, retrying for up to 5 s while SQLite holds a conflicting one for a moment.
    private static func lock(_ fd: Int32, _ offset: Int64, _ length: Int64, _ kind: LockKind, path: String) throws(CairnError) {
        let deadline = Date().addingTimeInterval(5)
        while cairn_ofd_lock(fd, offset, length, kind.rawValue) != 0 {
            let e = errno
            guard e == EAGAIN || e == EACCES || e == EINTR else { throw CairnError.fromErrno("lock", path, e) }
            guard Date() < deadline else {
                throw .databaseBusy(path: path, detail: "SQLite held a lock Cairn needs to pin the WAL (bytes \(offset)+\(length)) for 5 s")
            }
            usleep(200)
        }
    }

    private func tryLock(_ offset: Int64, _ kind: LockKind) -> Bool {
        cairn_ofd_lock(shmDescriptor, offset, 1, kind.rawValue) == 0
    }

    private func unlock(_ offset: Int64) { _ = cairn_ofd_lock(shmDescriptor, offset, 1, LockKind.unlock.rawValue) }

    private func writeMark(_ value: UInt32, slot i: Int) -> Bool {
        markBuffer.storeBytes(of: value, as: UInt32.self)
        return pwrite(shmDescriptor, markBuffer, 4, off_t(Self.markOffset(i))) == 4
    }

    private func readMark(slot i: Int) -> UInt32 {
        guard i > 0, pread(shmDescriptor, markBuffer, 4, off_t(Self.markOffset(i))) == 4 else { return 0 }
        return markBuffer.load(as: UInt32.self)
    }

    // MARK: - Setting up

    /// Blocks every restart and every copy: read lock 0 and one reader slot, held shared. The
    /// slot's mark is set to the WAL's end (readers and writers that find no free slot share a
    /// slot whose mark is not past the WAL's end; with every slot taken and none such, SQLite
    /// would fail them). All four slots are locked for a moment first, which also takes over
    /// whatever an inherited pin held.
    private func setUp() throws(CairnError) {
        try Self.lock(shmDescriptor, Self.slotByte(1), 4, .shared, path: index.path)
        try Self.lock(shmDescriptor, Self.readLock0, 1, .shared, path: index.path)
        let end = index.read()?.mxFrame ?? 0
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

    /// Holds a reader slot whose read mark is `frame` (the last frame captured, of the WAL
    /// generation the index is in, whose last frame is `mxFrame`), then lets go of every other
    /// lock of the pin. False when no suitable slot is free (the pin stays as it was).
    @discardableResult
    func pinMark(_ frame: UInt32, mxFrame: UInt32) -> Bool {
        if case .mark(_, frame) = state { return true }
        for i in candidateSlots(mxFrame: mxFrame) {
            let byte = Self.slotByte(i)
            guard tryLock(byte, .exclusive) else { continue }
            let written = writeMark(frame, slot: i)
            // Back to shared, as a reader holds it (converting keeps the lock throughout).
            _ = tryLock(byte, .shared)
            guard written else { continue }
            let previous = state
            state = .mark(slot: i, frame: frame)
            release(previous, keeping: i, newMark: frame)
            return true
        }
        return false
    }

    /// The slots to try, in order: only unused slots and slots already marked at the WAL's
    /// end (a checkpoint never waits for those), none let go of while a checkpoint may still
    /// be reading marks. A pin that holds read lock 0 (every copy waits for it) may also take
    /// back a slot it let go of, or update its own slot in place, as a last resort.
    private func candidateSlots(mxFrame: UInt32) -> [Int] {
        let marks: [UInt32] = (0..<5).map { readMark(slot: $0) }
        if !index.isLocked(.checkpoint) || index.read()?.fullyBackfilled == true { cooling.removeAll() }
        let held = heldSlots
        let others = [2, 3, 4, 1].filter { !held.contains($0) }
        let fit = others.filter { (i: Int) in marks[i] == Self.unusedMark || marks[i] >= mxFrame }
        let settled = fit.filter { !cooling.contains($0) }
        guard holdsReadLock0 else { return settled }
        return settled + fit.filter { cooling.contains($0) } + held
    }

    private var heldSlots: [Int] {
        switch state {
        case .settingUp(let slots): return slots
        case .mark(let slot, _): return [slot]
        case .fileAlone, .released: return []
        }
    }

    private var holdsReadLock0: Bool {
        switch state {
        case .settingUp, .fileAlone: return true
        case .mark, .released: return false
        }
    }

    /// Lets go of what the pin held in `previous`, except reader slot `keep`. A slot left is
    /// marked unused when no one else holds it (slot 1 gets `newMark` instead: SQLite keeps its
    /// mark usable), as a checkpoint leaves the slots it frees.
    private func release(_ previous: State, keeping keep: Int?, newMark: UInt32) {
        let checkpointing = index.isLocked(.checkpoint)
        let left: [Int]
        switch previous {
        case .settingUp(let slots): left = slots
        case .mark(let slot, _): left = [slot]
        case .fileAlone, .released: left = []
        }
        for s in left where s != keep {
            if tryLock(Self.slotByte(s), .exclusive) { _ = writeMark(s == 1 ? newMark : Self.unusedMark, slot: s) }
            unlock(Self.slotByte(s))
            if checkpointing { cooling.insert(s) }
        }
        let keepsReadLock0: Bool = { if case .fileAlone = state { return true }; return false }()
        switch previous {
        case .settingUp, .fileAlone: if !keepsReadLock0 { unlock(Self.readLock0) }
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
        if state == .fileAlone { return true }
        guard holdsReadLock0 || tryLock(Self.readLock0, .shared) else { return false }
        guard let now = index.read(), Self.everythingCopied(now, captured: captured) else {
            if !holdsReadLock0 { unlock(Self.readLock0) }
            return false
        }
        let previous = state
        state = .fileAlone
        release(previous, keeping: nil, newMark: now.mxFrame)
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
    /// copied, else a read mark at the last commit.
    func isCurrent(for now: WALIndexState, captured: WALPosition) -> Bool {
        if Self.everythingCopied(now, captured: captured) { return state == .fileAlone }
        guard now.sameGeneration(salt1: captured.salt1, salt2: captured.salt2), captured.frame == now.mxFrame else { return false }
        if case .mark(_, captured.frame) = state { return true }
        return false
    }

    /// Lets go of everything (capture stopped cleanly: nothing is left uncaptured).
    func releaseAll() {
        for i in 1...4 { unlock(Self.slotByte(i)) }
        unlock(Self.readLock0)
        _ = cairn_ofd_lock(databaseDescriptor, Self.sharedFirst, Self.sharedSize, LockKind.unlock.rawValue)
        state = .released
    }

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

/// The files a database is made of, by identity (device and inode) at one moment.
struct DatabaseFiles: Equatable {
    let database: FileIdentity?
    let wal: FileIdentity?
    let index: FileIdentity?

    init(databasePath: String) {
        database = FileIdentity(path: databasePath)
        wal = FileIdentity(path: databasePath + "-wal")
        index = FileIdentity(path: databasePath + "-shm")
    }

    /// What changed from `self` (the files pins were opened on) to `now`.
    func change(to now: DatabaseFiles) -> Change? {
        if now.database == nil { return .databaseGone }
        if now.database != database { return .databaseReplaced }
        if now.wal != wal || now.index != index { return .walReplaced }
        return nil
    }

    enum Change { case databaseGone, databaseReplaced, walReplaced }
}
