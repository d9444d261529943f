import Foundation
import Logging

/// The log writer: reads every committed transaction out of the `-wal` and writes it, with
/// its SCN, commit time, page images, database size and state checksum, into the current
/// online log; switches logs; and checkpoints the WAL once its frames are captured.
///
/// Invariant: while a capturer runs, SQLite cannot restart the WAL over frames that are not
/// in an online log (see `WALPin`). Frames are captured, made durable in every member, and
/// only then is the previous pin released.
public final class Capturer {
    public let database: ProtectedDatabase
    let logger: Logger
    private(set) var map: PageMap
    public private(set) var position: WALPosition
    public private(set) var scn: UInt64
    /// Transactions captured by this capturer since it started.
    public private(set) var capturedCount = 0
    private let pins: WALPin
    private var log: OnlineLogWriter?
    private var current: CurrentLog?
    /// `io` and `recordHeader` are allocated in `init` only once nothing before them can throw:
    /// an initializer that throws before every stored property is set does not run `deinit`.
    private let io: UnsafeMutableRawPointer
    private let recordHeader: UnsafeMutableRawPointer
    /// Commit times reported by an in-process WAL hook, oldest first (µs since 1970).
    private let exactTimes = ExactTimeQueue()
    private var checkedContinuity = false

    static let chunkBytes = 1 << 20

    struct CurrentLog {
        let sequence: UInt64
        let group: Int
        var records = 0
        var lowScn: UInt64 = 0
        var highScn: UInt64 = 0
        var lowMicros: UInt64 = 0
        var highMicros: UInt64 = 0
        var pageBytes: UInt64 = 0
        let contentHash = StreamingHash()
    }

    var walPath: String { database.databasePath + "-wal" }
    var incarnation: Int { database.control.incarnation }
    public var pageSize: Int { map.pageSize }
    public var stateChecksum: UInt64 { map.state }
    /// Sequence of the online log being written, if one is open.
    public var currentSequence: UInt64? { current?.sequence }
    public var unarchivedSince: Date? {
        guard let c = current, c.records > 0 else { return nil }
        return Date(timeIntervalSince1970: Double(c.lowMicros) / 1e6)
    }

    /// Loads the capture state (page map, capture point, current online log) and repairs a
    /// log left open or half-switched by a crash.
    public init(database: ProtectedDatabase, logger: Logger = Logger(label: "cairn")) throws(CairnError) {
        self.database = database
        self.logger = logger
        // The caller holds the capture lock, but may have read the control file before taking
        // it (a worker waits for it while a backup or `switch-log` captures): what the previous
        // holder captured, switched and recorded must be the starting point, not a stale copy.
        database.reloadControl()
        let c = database.control
        guard let point = c.redo.capture else {
            throw .invalidArgument("\(database.databasePath) has no capture point; register it again with `cairn init`.")
        }
        pins = try WALPin(databasePath: database.databasePath)
        scn = point.scn
        position = point.position
        let loaded = try PageMap.read(database.layout.pageMapFile)
        map = loaded.map
        io = .allocate(byteCount: Capturer.chunkBytes, alignment: 4096)
        recordHeader = .allocate(byteCount: RedoLogFormat.recordHeaderSize, alignment: 8)
        // Every stored property is set from here on: a throw below runs `deinit`.
        let mapScn = loaded.scn
        if mapScn < point.scn {
            throw .corrupt(file: database.layout.pageMapFile, offset: nil,
                           detail: "the page map is at SCN \(mapScn) but capture stopped at SCN \(point.scn)")
        }
        try resumeCurrentLog(mapScn: mapScn)
    }

    deinit {
        io.deallocate()
        recordHeader.deallocate()
    }

    // MARK: - Resume

    private func resumeCurrentLog(mapScn: UInt64) throws(CairnError) {
        let c = database.control
        guard let g = c.redo.currentGroup, c.redo.groups[g].status == .current else { return }
        let paths = c.redo.memberPaths(group: c.redo.groups[g].number).filter { !c.redo.groups[g].staleMembers.contains($0) }
        // The member with the most complete records is the truth; the others are brought in line.
        var best: (path: String, reader: RedoLogReader)?
        var replayMap = map
        var lastRecord: RedoRecord?
        for path in paths {
            guard let reader = try? RedoLogReader(path: path),
                  reader.header.sequence == c.redo.sequence, Int(reader.header.incarnation) == c.incarnation else { continue }
            var m = map
            var last: RedoRecord?
            do throws(CairnError) {
                while let r = try reader.next(strict: false, pages: { (r: RedoRecord, p: RedoLogReader.Page) throws(CairnError) in
                    guard r.scn > mapScn else { return }
                    m.apply(pgno: p.pgno, page: p.data, scn: r.scn)
                }) {
                    last = r
                    if r.scn > mapScn { m.finish(r) }
                }
            } catch {
                logger.warning("online log member \(path) unreadable: \(error.description)")
                continue
            }
            if best == nil || reader.records > best!.reader.records {
                best = (path, reader)
                replayMap = m
                lastRecord = last
            }
        }
        guard let best else {
            // The switch to this group was recorded but its log never got a header: start it afresh.
            try database.updateControl { (c: inout ControlFile) throws(CairnError) in
                c.redo.groups[g].status = .inactive
                c.redo.sequence -= 1
                c.redo.currentGroup = g == 0 ? c.redo.groups.count - 1 : g - 1
            }
            return
        }
        if let last = lastRecord {
            if last.stateChecksum != replayMap.state && last.kind == .transaction {
                throw .corrupt(file: best.path, offset: nil,
                               detail: "replaying the online log gives state \(Hash.hex(replayMap.state)) but its last record says \(Hash.hex(last.stateChecksum))")
            }
            map = replayMap
            scn = last.scn
            position = last.position
        }
        var cur = CurrentLog(sequence: best.reader.header.sequence, group: g)
        cur.records = best.reader.records
        // Rebuild the running totals of the open log.
        let again = try RedoLogReader(path: best.path)
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.headerSize, alignment: 8)
        defer { hdr.deallocate() }
        RedoLogFormat.encodeHeader(again.header, into: hdr)
        cur.contentHash.update(hdr, RedoLogFormat.headerSize)
        var first = true
        let raw = try RawFile(path: best.path, mode: .read)
        var off = UInt64(RedoLogFormat.headerSize)
        while let r = try again.next(strict: false) {
            if first { cur.lowScn = r.scn; cur.lowMicros = r.commitMicros; first = false }
            cur.highScn = r.scn
            cur.highMicros = r.commitMicros
            cur.pageBytes += UInt64(r.pageCount) * UInt64(again.header.pageSize)
            try raw.readExactly(into: recordHeader, count: RedoLogFormat.recordHeaderSize, at: off)
            cur.contentHash.update(recordHeader + 64, 8)
            off = again.end
        }
        if best.reader.trailer != nil {
            // Closed but the switch was not recorded: finish it. The file is left as it is
            // (reopening it for writing would truncate it to its records, dropping the trailer).
            current = cur
            try recordSwitch(closedBytes: FileSystem.fileSize(best.path) ?? 0, sourcePath: best.path)
            return
        }
        // Bring every member to the truth's content, then append after the last complete record.
        let truth = try FileSystem.readAll(best.path)
        let content = Array(truth.prefix(Int(again.end)))
        for p in paths where p != best.path {
            if (try? FileSystem.readAll(p).prefix(content.count).elementsEqual(content)) != true {
                logger.warning("online log member \(p) differs from \(best.path); rewriting it")
                try? FileSystem.atomicWrite(content, to: p)
            }
        }
        log = try OnlineLogWriter(reopening: paths, header: again.header, end: again.end, logger: logger)
        current = cur
    }

    // MARK: - Continuity (gap detection)

    /// Checks that nothing was committed and lost since capture last ran. Runs under the
    /// write lock at the first step. When the WAL generation is the one capture stopped in,
    /// continuing is safe. Otherwise the WAL was restarted meanwhile: the database file must
    /// still hold exactly the captured state (except pages the new WAL already copied back);
    /// if it does not, a gap is recorded and capture restarts from the current state.
    private func checkContinuity(_ scan: WALScan, index: WALIndexInfo?) throws(CairnError) {
        let same = scan.header.map { $0.salt1 == position.salt1 && $0.salt2 == position.salt2 } ?? false
        if same {
            if position.frame == 0 { return }
            if let c = scan.commits.first(where: { $0.frame == position.frame }),
               c.checksum1 == position.checksum1, c.checksum2 == position.checksum2 { return }
            try recordGap(detail: "the WAL no longer holds the frames capture stopped at (frame \(position.frame))")
            return
        }
        // A new WAL generation: compare the database file with the captured state.
        let backfilled: Set<UInt32> = {
            guard let h = scan.header, let index, index.salt1 == h.salt1, index.nBackfill > 0 else { return [] }
            return Set(scan.latestFrame.filter { $0.value <= index.nBackfill }.map(\.key))
        }()
        let db = try SharedFiles.reader(database.databasePath)
        let filePages = UInt32(try db.size() / UInt64(map.pageSize))
        var mismatch: String?
        if backfilled.isEmpty && filePages != map.pageCount {
            mismatch = "the database file has \(filePages) pages, the captured state \(map.pageCount)"
        } else {
            let per = max(1, Capturer.chunkBytes / map.pageSize)
            var next: UInt32 = 1
            let limit = min(filePages, map.pageCount)
            outer: while next <= limit {
                let n = Int(min(UInt32(per), limit - next + 1))
                try db.readExactly(into: io, count: n * map.pageSize, at: UInt64(next - 1) * UInt64(map.pageSize))
                for i in 0..<n {
                    let pgno = next + UInt32(i)
                    if backfilled.contains(pgno) { continue }
                    if Hash.page(io + i * map.pageSize, size: map.pageSize, pgno: pgno) != map.hashes[Int(pgno) - 1] {
                        mismatch = "page \(pgno) of the database file differs from the captured state"
                        break outer
                    }
                }
                next += UInt32(n)
            }
        }
        if let mismatch {
            try recordGap(detail: "the WAL was restarted while capture was not running and the database changed (\(mismatch))")
        } else if let h = scan.header {
            position = WALPosition(salt1: h.salt1, salt2: h.salt2, frame: 0, checksum1: h.checksum.0, checksum2: h.checksum.1)
        } else {
            position = WALPosition(salt1: 0, salt2: 0, frame: 0, checksum1: 0, checksum2: 0)
        }
    }

    /// Records a gap: one SCN stands for the changes that were not captured; the page map
    /// is rebuilt from the database as it is now and capture continues from there.
    private func recordGap(detail: String) throws(CairnError) {
        let snapshot = try DatabaseSnapshot(databasePath: database.databasePath, writerLockHeld: true)
        defer { snapshot.close() }
        map = try snapshot.pageMap()
        position = snapshot.position
        scn = database.control.scn(after: scn, commits: 1)
        let gapScn = scn
        map.resetTracking(at: gapScn)
        logger.error("gap detected at SCN \(gapScn): \(detail)")
        try ensureLog()
        try writeRecord(RedoRecord(kind: .gap, pageCount: 0, scn: gapScn, commitMicros: Self.nowMicros(), databasePages: map.pageCount,
                                   flags: 0, stateChecksum: map.state, position: position), pages: [], wal: nil)
        try log!.sync()
        unsyncedSince = nil
        try database.updateControl { (c: inout ControlFile) throws(CairnError) in
            c.redo.gaps.append(.init(scn: gapScn, incarnation: c.incarnation, detectedAt: Date(), detail: detail))
        }
    }

    // MARK: - Capture

    /// When the oldest record not yet fsync'd was written (nil: every record is durable).
    public private(set) var unsyncedSince: Date?

    /// Makes every record written so far durable in every member of the current log.
    public func flush() throws(CairnError) {
        if unsyncedSince != nil, let log { try log.sync() }
        unsyncedSince = nil
    }

    /// Captures every transaction committed since the last step. Returns how many.
    /// `lockHeld` is true when the caller holds the write lock (no commit can happen).
    /// With `sync` false the records are left for `flush()` (group commit: the WAL frames stay
    /// pinned meanwhile, so a crash before the flush only means capturing them again).
    @discardableResult
    /// `throughFrame` stops at that commit frame (in-process capture: commits whose WAL hook
    /// has not reported yet wait for it, so they get their exact time).
    public func step(lockHeld: Bool = false, sync: Bool = true, throughFrame: UInt32? = nil) throws(CairnError) -> Int {
        try pins.openNext()
        if !checkedContinuity {
            try checkContinuityUnderLock(lockHeld: lockHeld)
            checkedContinuity = true
        }
        let tail = try WALTail.read(path: walPath, after: position)
        if let h = tail.header, tail.newGeneration || (position.salt1 != h.salt1 || position.salt2 != h.salt2) {
            position = WALPosition(salt1: h.salt1, salt2: h.salt2, frame: 0, checksum1: h.checksum.0, checksum2: h.checksum.1)
        }
        var count = 0
        if !tail.transactions.isEmpty, let header = tail.header {
            let wal = try RawFile(path: walPath, mode: .read)
            for txn in tail.transactions {
                if let limit = throughFrame, txn.commitFrame > limit { break }
                try appendTransaction(txn, header: header, wal: wal)
                count += 1
            }
            if unsyncedSince == nil { unsyncedSince = Date() }
        }
        if sync { try flush() }
        pins.closePrevious()
        return count
    }

    /// The common case needs no lock: the WAL generation capture stopped in is still there
    /// (pinned, so it cannot change). Otherwise the database file is compared with the
    /// captured state while writers are blocked.
    private func checkContinuityUnderLock(lockHeld: Bool) throws(CairnError) {
        if !lockHeld, position.frame > 0 {
            let scan = try WALFile.scan(path: walPath)
            if let h = scan.header, h.salt1 == position.salt1, h.salt2 == position.salt2,
               let c = scan.commits.first(where: { $0.frame == position.frame }),
               c.checksum1 == position.checksum1, c.checksum2 == position.checksum2 {
                return
            }
        }
        let writer = try SQLiteConnection(path: database.databasePath, busyTimeoutMs: 10 * 60_000)
        defer { writer.close() }
        if !lockHeld { try writer.exec("BEGIN IMMEDIATE") }
        defer { if !lockHeld { try? writer.exec("ROLLBACK") } }
        let scan = try WALFile.scan(path: walPath)
        try checkContinuity(scan, index: WALIndexInfo.read(path: database.databasePath + "-shm"))
    }

    /// Milliseconds until unsynced records are due for `flush()` after `interval` (0: now),
    /// or nil when every record is durable.
    public func flushDueInMs(interval: TimeInterval) -> Int32? {
        guard let since = unsyncedSince else { return nil }
        return Int32(max(0, (interval - Date().timeIntervalSince(since)) * 1000))
    }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1e6) }

    /// Called from an in-process WAL hook right after a commit that ended at `frame`.
    public func noteCommit(frame: UInt32, atMicros t: UInt64) { exactTimes.push(frame: frame, micros: t) }

    /// The newest commit frame an in-process WAL hook reported.
    public var lastReportedFrame: UInt32? { exactTimes.lastFrame }

    private func appendTransaction(_ txn: WALTransaction, header: WALHeader, wal: RawFile) throws(CairnError) {
        if let c = current, c.pageBytes >= database.control.redo.logSizeBytes {
            try switchLog()
        }
        try ensureLog()
        scn = database.control.scn(after: scn, commits: 1)
        map.resize(txn.databasePages, scn: scn)
        let exact = exactTimes.take(frame: txn.commitFrame)
        let pos = WALPosition(salt1: header.salt1, salt2: header.salt2, frame: txn.commitFrame,
                              checksum1: txn.checksum.0, checksum2: txn.checksum.1)
        let record = RedoRecord(kind: .transaction, pageCount: UInt32(txn.pages.count), scn: scn,
                                commitMicros: exact ?? Self.nowMicros(), databasePages: txn.databasePages,
                                flags: exact == nil ? 0 : 1, stateChecksum: 0, position: pos)
        try writeRecord(record, pages: txn.pages, wal: wal)
        position = pos
        capturedCount += 1
    }

    /// Writes a record: page numbers, then each page read from its WAL frame (hashed into
    /// the page map on the way), then the header, which carries the checksum and the state.
    private func writeRecord(_ r: RedoRecord, pages: [(pgno: UInt32, frame: UInt32)], wal: RawFile?) throws(CairnError) {
        guard let log, var cur = current else { return }
        let ps = map.pageSize
        let start = log.offset
        var at = start + UInt64(RedoLogFormat.recordHeaderSize)
        let body = StreamingHash()
        var used = 0
        func flush() throws(CairnError) {
            guard used > 0 else { return }
            try log.write(io, used, at: at)
            body.update(io, used)
            at += UInt64(used)
            used = 0
        }
        let numbers = RedoRecord.pageNumbersSize(pages.count)
        var i = 0
        while i < numbers / 4 {
            if used + 4 > Capturer.chunkBytes { try flush() }
            LE.put32(i < pages.count ? pages[i].pgno : 0, io, used)
            used += 4
            i += 1
        }
        for p in pages {
            if used + ps > Capturer.chunkBytes { try flush() }
            try wal!.readExactly(into: io + used, count: ps, at: WALScan.frameOffset(p.frame, pageSize: ps) + UInt64(WALFile.frameHeaderSize))
            map.set(p.pgno, hash: Hash.page(io + used, size: ps, pgno: p.pgno), scn: r.scn)
            used += ps
        }
        try flush()
        var final = r
        final.stateChecksum = map.state
        final.encodeHeader(into: recordHeader, bodyHash: body.value)
        try log.write(recordHeader, RedoLogFormat.recordHeaderSize, at: start)
        log.advance(to: at)
        if cur.records == 0 { cur.lowScn = r.scn; cur.lowMicros = r.commitMicros }
        cur.records += 1
        cur.highScn = r.scn
        cur.highMicros = r.commitMicros
        cur.pageBytes += UInt64(pages.count * ps)
        cur.contentHash.update(recordHeader + 64, 8)
        current = cur
    }

    // MARK: - Log switch

    /// Opens the next online log when none is open. Throws `captureStalled` when the next
    /// group still holds a log that is not archived.
    private func ensureLog() throws(CairnError) {
        if log != nil { return }
        let c = database.control
        let next = ((c.redo.currentGroup ?? -1) + 1) % c.redo.groups.count
        let g = c.redo.groups[next]
        if g.status == .active || g.status == .current {
            throw .captureStalled(group: g.number, sequence: g.sequence ?? 0, reason: RecoveryArea.stallReason(c, group: g))
        }
        let seq = c.redo.sequence + 1
        let header = RedoLogFormat.Header(dbid: database.dbid, incarnation: UInt32(c.incarnation), pageSize: UInt32(map.pageSize),
                                          sequence: seq, firstScn: scn + 1, createdMicros: Self.nowMicros())
        try database.updateControl { (c: inout ControlFile) throws(CairnError) in
            c.redo.currentGroup = next
            c.redo.sequence = seq
            c.redo.groups[next].status = .current
            c.redo.groups[next].sequence = seq
            c.redo.groups[next].incarnation = c.incarnation
            c.redo.groups[next].staleMembers = []
        }
        let writer = try OnlineLogWriter(paths: c.redo.memberPaths(group: g.number), header: header, logger: logger)
        log = writer
        let cur = CurrentLog(sequence: seq, group: next)
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: RedoLogFormat.headerSize, alignment: 8)
        defer { hdr.deallocate() }
        RedoLogFormat.encodeHeader(header, into: hdr)
        cur.contentHash.update(hdr, RedoLogFormat.headerSize)
        current = cur
        if !writer.stale.isEmpty { try noteStaleMembers(writer) }
    }

    private func noteStaleMembers(_ w: OnlineLogWriter) throws(CairnError) {
        guard let cur = current else { return }
        let stale = w.stale.map(\.path)
        try database.updateControl { (c: inout ControlFile) throws(CairnError) in
            for s in stale where !c.redo.groups[cur.group].staleMembers.contains(s) { c.redo.groups[cur.group].staleMembers.append(s) }
        }
    }

    /// Closes the current log (trailer, fsync), records it and the capture point, and leaves
    /// the next log to open at the next transaction. No-op when the log holds no records.
    public func switchLog() throws(CairnError) {
        guard let log, let cur = current, cur.records > 0 else { return }
        let trailer = RedoLogFormat.Trailer(records: UInt64(cur.records), highScn: cur.highScn, highTimeMicros: cur.highMicros,
                                            contentBytes: log.offset, contentHash: cur.contentHash.value)
        let bytes = try log.close(trailer: trailer)
        unsyncedSince = nil
        if !log.stale.isEmpty { try noteStaleMembers(log) }
        try recordSwitch(closedBytes: bytes, sourcePath: log.memberPaths[0])
    }

    private func recordSwitch(closedBytes: UInt64, sourcePath: String) throws(CairnError) {
        guard let cur = current else { return }
        let xxh = try Archiver.fileHash(sourcePath)
        try map.write(to: database.layout.pageMapFile, scn: scn, incarnation: incarnation)
        let point = RedoState.CapturePoint(scn: scn, incarnation: incarnation, position: position, stateChecksum: Hash.hex(map.state))
        let now = Date()
        try database.updateControl { (c: inout ControlFile) throws(CairnError) in
            let record = LogRecord(sequence: cur.sequence, incarnation: c.incarnation, group: c.redo.groups[cur.group].number,
                                   lowScn: cur.lowScn, highScn: cur.highScn,
                                   lowTime: Date(timeIntervalSince1970: Double(cur.lowMicros) / 1e6),
                                   highTime: Date(timeIntervalSince1970: Double(cur.highMicros) / 1e6),
                                   records: cur.records, bytes: closedBytes, xxh3: Hash.hex(xxh), status: .online,
                                   destinations: c.redo.archiveDestinations.map { .init(destination: $0, state: .pending) },
                                   closedAt: now)
            c.redo.logs.removeAll { $0.incarnation == record.incarnation && $0.sequence == record.sequence }
            c.redo.logs.append(record)
            c.redo.groups[cur.group].status = .active
            c.redo.capture = point
            c.scn = max(c.scn, point.scn)
            c.redo.checkpointScn = max(c.redo.checkpointScn, lastCheckpointScn)
        }
        log = nil
        current = nil
        logger.info("switched log: sequence \(cur.sequence) closed at SCN \(cur.highScn)")
    }

    // MARK: - Checkpoint

    /// Lets SQLite restart the WAL once its frames are captured, in two phases. First, with
    /// writers running, everything captured so far is checkpointed into the database file
    /// (PASSIVE: our pin stops it at the captured frames). Then, with writers blocked for a
    /// moment, the few frames committed meanwhile are captured and checkpointed, and the pins
    /// are retaken; the next writer restarts the WAL from the beginning.
    /// Returns false when writers were busy (it runs again at the next step).
    @discardableResult
    public func checkpoint(force: Bool = false) throws(CairnError) -> Bool {
        let frameBytes = UInt64(position.frame) * UInt64(map.pageSize + WALFile.frameHeaderSize)
        if !force && frameBytes < database.control.redo.walTargetBytes { return true }
        // Wait longer for the write lock the further the WAL is past its target.
        let target = max(database.control.redo.walTargetBytes, 1)
        let wait: Int32 = force ? 5_000 : frameBytes > 4 * target ? 1_000 : 100
        let ckpt = try SQLiteConnection(path: database.databasePath)
        defer { ckpt.close() }
        guardian?.repin()
        try step(sync: false)
        _ = try? ckpt.rows("PRAGMA wal_checkpoint(PASSIVE)")
        if let g = guardian, g.isConnected {
            // The guardian holds the write lock through the moment without pins.
            guard g.lockForCheckpoint() else { return false }
            do throws(CairnError) { try step(lockHeld: true) } catch {
                // Writers must not stay blocked while this capture stalls or fails.
                g.abandonCheckpoint()
                throw error
            }
            pins.closeAll()
            let complete = g.checkpointCaptured()
            try pins.openNext()
            if !g.isConnected {
                // The guardian died while it held the write lock and this process held no
                // pin: between its death and `openNext` a writer could have committed and the
                // application restarted the WAL. Check continuity again under our own write
                // lock at the next step (the common case finds the WAL generation unchanged).
                checkedContinuity = false
            }
            if complete { lastCheckpointScn = scn }
            return complete
        }
        let writer = try SQLiteConnection(path: database.databasePath, busyTimeoutMs: wait)
        defer { writer.close() }
        do throws(CairnError) { try writer.exec("BEGIN IMMEDIATE") } catch { return false }
        defer { try? writer.exec("ROLLBACK") }
        try step(lockHeld: true)
        pins.closeAll()
        let row = (try? ckpt.rows("PRAGMA wal_checkpoint(PASSIVE)").first) ?? []
        try pins.openNext()
        let complete = row.count == 3 && row[1] == row[2]
        if complete { lastCheckpointScn = scn }
        return complete
    }

    public private(set) var lastCheckpointScn: UInt64 = 0
    /// The guardian process's pin, released and retaken around checkpoints.
    public var guardian: GuardianLink?

    /// Captures everything committed, closes the current log and releases the pins.
    public func stop() throws(CairnError) {
        try step()
        try switchLog()
        pins.closeAll()
    }
}

/// Commit times handed over by an in-process WAL hook, keyed by commit frame.
final class ExactTimeQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [(frame: UInt32, micros: UInt64)] = []

    func push(frame: UInt32, micros: UInt64) {
        lock.withLock {
            times.append((frame, micros))
            newest = frame
            // Entries never claimed (another WAL generation) are dropped after a minute.
            let old = micros &- 60_000_000
            times.removeAll { $0.micros < old }
        }
    }

    private var newest: UInt32?
    /// The newest frame reported (kept when its time has been taken).
    var lastFrame: UInt32? { lock.withLock { newest } }

    /// The exact time of the commit that ended at `frame`, if the hook reported it.
    func take(frame: UInt32) -> UInt64? {
        lock.withLock {
            guard let i = times.firstIndex(where: { $0.frame == frame }) else { return nil }
            return times.remove(at: i).micros
        }
    }
}
