import Foundation
import Synchronization
import Logging
import CairnFormats
import CairnCatalog

/// The log writer: reads every committed transaction out of the `-wal` and writes it, with
/// its SCN, commit time, page images, database size and state checksum, into the current
/// online log; switches logs; checkpoints the WAL once its frames are captured.
///
/// Invariant: while a capturer runs, SQLite cannot restart the WAL over frames that are not
/// in an online log, and an application's checkpoints are never held up longer than it
/// takes to capture what is committed (see `WALPin`). Every step opens the next pin only
/// after checking what the WAL is, captures, makes the records durable when needed, and only
/// then releases the previous pin.
package final class Capturer {
    package let database: Catalog
    let logger: Logger
    var map: PageMap
    package internal(set) var position: WALPosition
    package internal(set) var scn: UInt64
    /// Transactions captured by this capturer since it started.
    package internal(set) var capturedCount = 0
    var pins: WALPin
    var wal: WALSource
    var log: OnlineLogWriter?
    var current: CurrentLog?
    /// `io` and `recordHeader` are allocated in `init` only once nothing before them can throw:
    /// an initializer that throws before every stored property is set does not run `deinit`.
    let io: UnsafeMutableRawPointer
    let recordHeader: UnsafeMutableRawPointer
    /// Stores pages as changes against their versions earlier in the current log, and the
    /// sequence of that log (a new log starts without any version to refer to).
    var changeEncoder: PageChangeEncoder?
    var changeEncoderSequence: UInt64?
    /// The database file, read for the version of a page a change is against, and a buffer
    /// for reading that version from an earlier WAL frame.
    var databasePages: DatabasePageReader?
    var previousFrame: PageBuffer?
    /// Commit times reported by an in-process WAL hook, oldest first (µs since 1970); the
    /// hook runs on the application's thread (hence a Sendable queue).
    let exactTimes = ExactTimeQueue()
    /// How far the WAL seen at the next step may be trusted to continue what was captured.
    var trust = Trust.unverified
    /// Pages captured from the current WAL generation, each with its newest frame (checked
    /// against the database file when SQLite restarts the WAL; where a page's previous
    /// version is found when it is stored as a change).
    var generationFrames: [UInt32: UInt32] = [:]
    /// The state checksum after each recent transaction, to tell which captured transactions
    /// a database that diverged from the history still has.
    var recentStates = RecentStates()
    /// The connection Cairn's own checkpoints run on (it also keeps the WAL and its index
    /// open; opened anew on a WAL that replaced the old one), and whether one is running.
    var checkpointer: SQLiteConnection
    var ownCheckpointRunning = false
    /// The last `checkpoint()` put Cairn's own checkpoint off while the application is expected
    /// to checkpoint (see `ApplicationCheckpoints`): it may become due with time alone.
    var checkpointPutOff = false
    /// The WAL index as the last step saw it, and the application's own checkpoints.
    var lastSeenIndex: WALIndexState?
    var applicationCheckpoints = ApplicationCheckpoints()
    /// A gap is recorded (page map, control file) but its record is not in any log yet.
    var gapRecordPending = false
    /// Validation's capture: a database that left the captured history is reported
    /// (`diverged`, and the step throws) instead of being recorded as a gap.
    var reportsDivergence = false
    var diverged: String?
    /// Whether a worker under a guardian: a WAL replaced under it ends the worker, for the
    /// guardian to pin the new files and start a new one (their pin is shared).
    let sharesPinWithGuardian: Bool

    static let chunkBytes = 1 << 20

    enum Trust {
        /// Nothing is known of what happened to the WAL since the capture point was recorded
        /// (a new capture, or pins re-opened on new files): a new generation is compared
        /// with the database file page by page.
        case unverified
        /// This capturer's pins have stood since its last step: SQLite restarted the WAL only
        /// once every frame was captured and copied, so only the pages of the previous
        /// generation need checking.
        case pinned
    }

    struct CurrentLog {
        let sequence: UInt64
        let group: Int
        var records = 0
        var lowScn: UInt64 = 0
        var highScn: UInt64 = 0
        var lowMicros: UInt64 = 0
        var highMicros: UInt64 = 0
        /// Bytes of records written (what a log's size limit counts).
        var recordBytes: UInt64 = 0
        let contentHash = StreamingHash()
    }

    /// Set by the capture loop for the length of a round that looked at the control file's
    /// copies on disk as it began: its steps read the settings as last read.
    var controlLookedThisRound = false

    var walPath: String { database.databasePath + "-wal" }
    var incarnation: Int { database.control.incarnation }
    package var pageSize: Int { map.pageSize }
    package var stateChecksum: UInt64 { map.state }
    /// Sequence of the online log being written, if one is open.
    package var currentSequence: UInt64? { current?.sequence }
    package var unarchivedSince: Date? {
        guard let c = current, c.records > 0 else { return nil }
        return Date(timeIntervalSince1970: Double(c.lowMicros) / 1e6)
    }

    /// Loads the capture state (page map, capture point, current online log) and repairs a
    /// log left open or half-switched by a crash. The pin is taken first (`inheritedPin`: the
    /// descriptors of the pin a guardian shares with its worker), blocking every WAL restart
    /// until the first step has captured what is there and moved it, so nothing committed can
    /// be overwritten while the state is loaded.
    package init(database: Catalog, inheritedPin: (shm: Int32, database: Int32)? = nil,
                logger: Logger = Logger(label: "cairn")) throws(EngineError) {
        self.database = database
        self.logger = logger
        guard FileSystem.exists(database.databasePath) else { throw .databaseMissing(path: database.databasePath) }
        checkpointer = try DatabaseFiles.openKeeper(database.databasePath)
        pins = try WALPin(databasePath: database.databasePath, inherited: inheritedPin)
        sharesPinWithGuardian = inheritedPin != nil
        wal = WALSource(path: database.databasePath + "-wal")
        // The caller holds the capture lock; what the previous holder captured, switched and
        // recorded is the starting point (`control` is always the newest copy on disk).
        let c = database.control
        guard let point = c.redo.capture else {
            throw .invalidArgument("\(database.databasePath) has no capture point; register it again with `cairn init`.")
        }
        scn = point.scn
        position = point.position
        Self.adoptPendingMap(database.layout, point: point)
        let loaded = try PageMap.read(database.layout.pageMapFile)
        map = loaded.map
        io = .allocate(byteCount: Capturer.chunkBytes, alignment: 4096)
        recordHeader = .allocate(byteCount: RedoLogFormat.maxRecordHeaderSize, alignment: 8)
        // Every stored property is set from here on: a throw below runs `deinit`.
        if loaded.scn < point.scn {
            throw .corrupt(file: database.layout.pageMapFile, offset: nil,
                           detail: "the page map is at SCN \(loaded.scn) but capture stopped at SCN \(point.scn)")
        }
        try resumeCurrentLog(mapScn: loaded.scn)
    }

    /// A connection (that never writes) opened in WAL mode: it makes SQLite open the WAL and
    /// its index, creating them when missing, and runs Cairn's checkpoints.
    static func openCheckpointConnection(_ path: String) throws(EngineError) -> SQLiteConnection {
        let c = try SQLiteConnection(path: path, busyTimeoutMs: 0)
        try c.exec("BEGIN")
        _ = try? c.scalar("SELECT count(*) FROM sqlite_master")
        try? c.exec("ROLLBACK")
        return c
    }

    deinit {
        checkpointer.close()
        io.deallocate()
        recordHeader.deallocate()
    }

    // MARK: - Capture

    /// When the oldest record not yet fsync'd was written (nil: every record is durable).
    package internal(set) var unsyncedSince: Date?

    /// Makes every record written so far durable in every member of the current log.
    package func flush() throws(EngineError) {
        if unsyncedSince != nil, let log { try log.sync() }
        unsyncedSince = nil
    }

    /// Captures every transaction committed since the last step and moves the pin to the end
    /// of what it captured. Returns how many transactions it captured.
    /// With `sync` false the records are left for `flush()` (group commit), except when the
    /// pin moves to let SQLite restart the WAL: the records are made durable first.
    /// `throughFrame` stops at that commit frame (in-process capture: commits whose WAL hook
    /// has not reported yet wait for it, so they get their exact time).
    @discardableResult
    package func step(sync: Bool = true, throughFrame: UInt32? = nil) throws(EngineError) -> Int {
        try followFiles()
        noteIndex(pins.index.read())
        if gapRecordPending { try writeGapRecord() }
        let count = try captureWAL(throughFrame: throughFrame)
        try movePin()
        if sync { try flush() }
        trust = .pinned
        return count
    }

    /// Moves the pin after a step (see `WALPin`): to read lock 0 once every frame is captured
    /// and copied into the database file (the records made durable first, since the WAL may
    /// then be restarted over them), else to a reader slot (`pinCaptured`) marked at the last
    /// frame captured, so the file keeps the version each change is stored against, unless
    /// the application runs checkpoints that would wait for that mark.
    func movePin() throws(EngineError) {
        guard let state = pins.index.read() else { return }
        if WALPin.everythingCopied(state, captured: position) {
            if unsyncedSince != nil { try flush() }
            if pins.pinFileAlone(captured: position) { return }
        }
        // A generation capture has checked but captured nothing of yet is known to continue
        // the history only to this process: a successor (this worker killed now) finds the
        // last record in the logs, of the previous generation, and checks the database file
        // against it again, which frames of the new generation copied into the file would
        // fail (a false gap). So its frames stay uncopied until one of its commits is in the
        // online log.
        guard position.frame > 0 else { return }
        pins.pinCaptured(position, holdingCopies: !applicationCheckpoints.blockingExpected())
    }

    /// Reads the WAL after the capture point and writes its transactions to the online log.
    private func captureWAL(throughFrame: UInt32?) throws(EngineError) -> Int {
        let indexed = pins.index.read()
        let tail = try wal.tail(after: position, indexed: indexed)
        if tail.newGeneration || trust == .unverified {
            guard try continueInto(tail) else { return 0 }
        }
        var count = 0
        guard let header = tail.header, let file = wal.file else { return 0 }
        // The settings a transaction needs (log size, the incarnation's SCNs), read once a step
        // (`control` checks the copies on disk at every read), or once a round.
        let settings = controlLookedThisRound ? database.controlAsLastRead : database.control
        for txn in tail.transactions {
            if let limit = throughFrame, txn.commitFrame > limit { break }
            try appendTransaction(txn, header: header, wal: file, settings: settings)
            count += 1
        }
        if count > 0 && unsyncedSince == nil { unsyncedSince = Date() }
        if count == 0, throughFrame == nil, let indexed { try checkNothingSkipped(header, indexed: indexed) }
        return count
    }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1e6) }

    /// Milliseconds until unsynced records are due for `flush()` after `interval` (0: now),
    /// or nil when every record is durable.
    package func flushDueInMs(interval: TimeInterval) -> Int32? {
        guard let since = unsyncedSince else { return nil }
        return Int32(max(0, (interval - Date().timeIntervalSince(since)) * 1000))
    }

    /// Called from an in-process WAL hook right after a commit that ended at `frame`.
    package func noteCommit(frame: UInt32, atMicros t: UInt64) { exactTimes.push(frame: frame, micros: t) }

    /// The newest commit frame an in-process WAL hook reported.
    package var lastReportedFrame: UInt32? { exactTimes.lastFrame }

    private func appendTransaction(_ txn: WALTransaction, header: WALHeader, wal: RawFile, settings: ControlFile) throws(EngineError) {
        if let c = current, c.recordBytes >= settings.redo.logSizeBytes {
            try switchLog(openingNext: true)
        }
        try ensureLog()
        scn = settings.scn(after: scn, commits: 1)
        map.resize(txn.databasePages, scn: scn)
        let exact = exactTimes.take(frame: txn.commitFrame)
        let pos = WALPosition(salt1: header.salt1, salt2: header.salt2, frame: txn.commitFrame,
                              checksum1: txn.checksum.0, checksum2: txn.checksum.1)
        let record = RedoRecord(kind: .transaction, pageCount: UInt32(txn.pages.count), scn: scn,
                                commitMicros: exact ?? Self.nowMicros(), databasePages: txn.databasePages,
                                flags: exact == nil ? 0 : 1, stateChecksum: 0, position: pos)
        try writeRecord(record, pages: txn.pages, wal: wal)
        for p in txn.pages { generationFrames[p.pgno] = p.frame }
        position = pos
        capturedCount += 1
        recentStates.append(scn: scn, state: map.state)
    }

    package internal(set) var lastCheckpointScn: UInt64 = 0

    /// Captures everything committed, closes the current log and releases the pin.
    package func stop() throws(EngineError) {
        try closeForSuccessor()
        pins.releaseAll()
    }

    /// Captures everything committed and closes the current log, keeping the pin (another
    /// capture is about to take over).
    func closeForSuccessor() throws(EngineError) {
        try step()
        try switchLog()
    }
}

/// Commit times handed over by an in-process WAL hook, keyed by commit frame.
final class ExactTimeQueue: Sendable {
    private struct State { var times: [(frame: UInt32, micros: UInt64)] = []; var newest: UInt32? }
    private let state = Mutex(State())

    func push(frame: UInt32, micros: UInt64) {
        state.withLock { s in
            s.times.append((frame, micros))
            s.newest = frame
            // Entries never claimed (another WAL generation) are dropped after a minute.
            let old = micros &- 60_000_000
            s.times.removeAll { $0.micros < old }
        }
    }

    /// The newest frame reported (kept when its time has been taken).
    var lastFrame: UInt32? { state.withLock { $0.newest } }

    /// The exact time of the commit that ended at `frame`, if the hook reported it.
    func take(frame: UInt32) -> UInt64? {
        state.withLock { s in
            guard let i = s.times.firstIndex(where: { $0.frame == frame }) else { return nil }
            return s.times.remove(at: i).micros
        }
    }
}

/// The state checksum after each of the most recent transactions captured.
struct RecentStates {
    private var entries: [(scn: UInt64, state: UInt64)] = []
    private var next = 0
    static let capacity = 1 << 16

    mutating func append(scn: UInt64, state: UInt64) {
        if entries.count < Self.capacity { entries.append((scn, state)); return }
        entries[next] = (scn, state)
        next = (next + 1) % Self.capacity
    }

    /// The newest SCN whose state was `state`.
    func scn(of state: UInt64) -> UInt64? {
        entries.filter { $0.state == state }.map(\.scn).max()
    }

    mutating func removeAll() {
        entries.removeAll()
        next = 0
    }
}
