import Foundation
import CairnFormats
import CairnCatalog

/// Never a history that did not happen: before capture appends anything from a WAL it did not
/// see begin (a new generation, a new file, the first step of a capture), it checks that the
/// database file holds exactly the state it captured last. When it does not, the live database
/// has diverged from the history (its WAL deleted or replaced, the file restored by hand,
/// writes while no capture ran): a gap is recorded, saying which captured transactions the live
/// database no longer has and how to get them back, and the history goes on from the live state.
extension Capturer {
    // MARK: - The files themselves

    /// Checks that the database, its WAL and its index are still the files the pins were
    /// opened on. A WAL or index deleted or replaced is drained (what was committed to it is
    /// captured through the descriptor still open) and capture moves to the new files,
    /// verifying them against the captured state. A database file deleted or replaced ends
    /// capture: what could still be read is captured, the log closed, and `databaseVanished`
    /// thrown for the caller to archive and report.
    func followFiles() throws(EngineError) {
        guard let change = pins.files.change(to: DatabaseFiles(databasePath: database.databasePath)) else { return }
        try drainOldWAL()
        switch change {
        case .databaseGone, .databaseReplaced:
            let replaced = change == .databaseReplaced
            logger.error("the database file \(database.databasePath) \(replaced ? "was replaced" : "was deleted"); capture stops at SCN \(scn)")
            try flush()
            try switchLog()
            pins.releaseAll()
            throw .databaseVanished(path: database.databasePath, replaced: replaced, scn: scn)
        case .walReplaced:
            logger.warning("the WAL or WAL index of \(database.databasePath) was deleted or replaced; capture moves to the new one and checks it against the captured state")
            try flush()
            // A pin shared with a guardian is the guardian's to renew.
            if sharesPinWithGuardian { throw .walReplaced(path: database.databasePath, scn: scn) }
            // The connection opened anew has SQLite create the new files when none exist yet.
            checkpointer.close()
            checkpointer = try DatabaseFiles.openKeeper(database.databasePath)
            pins = try WALPin(databasePath: database.databasePath)
            wal.reopen()
            trust = .unverified
        }
    }

    /// Captures what was committed to the WAL file still open before it was deleted or replaced.
    private func drainOldWAL() throws(EngineError) {
        guard let file = wal.file, let tail = try? wal.tail(after: position),
              !tail.newGeneration, let header = tail.header, !tail.transactions.isEmpty else { return }
        logger.notice("capturing \(tail.transactions.count) transaction(s) committed to the WAL before it was removed")
        for txn in tail.transactions { try appendTransactionFromDrain(txn, header: header, wal: file) }
    }

    private func appendTransactionFromDrain(_ txn: WALTransaction, header: WALHeader, wal: RawFile) throws(EngineError) {
        try ensureLog()
        scn = database.control.scn(after: scn, commits: 1)
        map.resize(txn.databasePages, scn: scn)
        let pos = WALPosition(salt1: header.salt1, salt2: header.salt2, frame: txn.commitFrame,
                              checksum1: txn.checksum.0, checksum2: txn.checksum.1)
        let record = RedoRecord(kind: .transaction, pageCount: UInt32(txn.pages.count), scn: scn,
                                commitMicros: Self.nowMicros(), databasePages: txn.databasePages,
                                flags: 0, stateChecksum: 0, position: pos)
        try writeRecord(record, pages: txn.pages, wal: wal)
        position = pos
        capturedCount += 1
        recentStates.append(scn: scn, state: map.state)
        if unsyncedSince == nil { unsyncedSince = Date() }
    }

    // MARK: - A WAL capture did not see begin

    /// Decides whether the WAL read in `tail` continues the captured history. Returns false
    /// when a gap was recorded instead (capture goes on from the live state at the next step).
    func continueInto(_ tail: WALTail.Result) throws(EngineError) -> Bool {
        let sameGeneration = tail.header.map { $0.salt1 == position.salt1 && $0.salt2 == position.salt2 } ?? false
        if trust == .unverified ? sameGeneration : !tail.newGeneration {
            // The generation capture stopped in: its frames must still be there, unchanged.
            guard trust == .unverified, position.frame > 0 else { return true }
            if try positionIsInWAL() { return true }
            try recordDivergence("the WAL no longer holds the frames capture stopped at (frame \(position.frame))")
            return false
        }
        let verdict: String?
        switch trust {
        case .pinned: verdict = try compareDatabaseFile(pages: generationFrames.keys.sorted(), index: nil)
        case .unverified: verdict = try compareDatabaseFile(pages: nil, index: pins.index.read())
        }
        if let verdict {
            logger.debug("divergence: trust \(trust), capture point \(position), WAL header \(String(describing: tail.header)), index \(String(describing: pins.index.read())), \(map.pageCount) pages captured at SCN \(scn): \(verdict)")
            let why = trust == .pinned
                ? "the database file no longer holds what was captured when SQLite restarted the WAL (\(verdict)): it was written outside SQLite, or the WAL was lost"
                : "the WAL was restarted while capture was not running and the database changed (\(verdict))"
            try recordDivergence(why)
            return false
        }
        if let h = tail.header {
            position = WALPosition(salt1: h.salt1, salt2: h.salt2, frame: 0, checksum1: h.checksum.0, checksum2: h.checksum.1)
        } else {
            position = WALPosition(salt1: 0, salt2: 0, frame: 0, checksum1: 0, checksum2: 0)
        }
        generationFrames.removeAll()
        return true
    }

    /// Whether the commit capture stopped at is in the WAL with the checksum it had.
    private func positionIsInWAL() throws(EngineError) -> Bool {
        guard let file = wal.file else { return false }
        var found = false
        let target = position
        let (header, _) = try WALFile.readFrames(file: file, after: nil) { f in
            if f.index == target.frame, f.commitSize != 0, f.checksum.0 == target.checksum1, f.checksum.1 == target.checksum2 { found = true }
        }
        return found && header.map { $0.salt1 == target.salt1 && $0.salt2 == target.salt2 } == true
    }

    /// When a step captured nothing although the index, read before the WAL, said the current
    /// generation has frames past the capture point, the WAL's frames are not readable as SQLite wrote them
    /// (the file was overwritten outside SQLite): that is a divergence, not a quiet WAL.
    func checkNothingSkipped(_ header: WALHeader, indexed state: WALIndexState) throws(EngineError) {
        guard state.sameGeneration(salt1: position.salt1, salt2: position.salt2),
              header.salt1 == position.salt1, header.salt2 == position.salt2,
              state.mxFrame > position.frame, !(try positionIsInWAL()) else { return }
        try recordDivergence("the WAL no longer holds the frames capture stopped at (frame \(position.frame)) although SQLite's index counts \(state.mxFrame)")
    }

    /// Compares pages of the database file with the captured state: `pages` (nil: every page)
    /// and the file's size. Returns what differs, or nil. `index` is the WAL's state when
    /// the new generation may already have been partly copied into the file: a page that
    /// differs is then reported as one that cannot be verified.
    func compareDatabaseFile(pages: [UInt32]?, index: WALIndexState?) throws(EngineError) -> String? {
        let db = try SharedFiles.reader(database.databasePath)
        let ps = map.pageSize
        let filePages = UInt32(try db.size() / UInt64(ps))
        if filePages < map.pageCount {
            return "the database file has \(filePages) pages, the captured state \(map.pageCount)"
        }
        // A longer file is fine (an application's chunk size rounds it up) unless its header
        // says the database itself is longer.
        if pages == nil, filePages > map.pageCount, let h = try? DatabaseHeader.read(database.databasePath),
           h.pageCountIsValid, h.pageCountField > map.pageCount {
            return "the database file has \(h.pageCountField) pages, the captured state \(map.pageCount)"
        }
        let copied = index.map { $0.nBackfillAttempted > 0 } ?? false
        var mismatch: UInt32?
        try forEachPage(of: db, pages: pages) { pgno, page in
            if Hash.page(page, size: ps, pgno: pgno) != map.hashes[Int(pgno) - 1] {
                mismatch = pgno
                return false
            }
            return true
        }
        guard let p = mismatch else { return nil }
        return copied
            ? "page \(p) differs from the captured state, and SQLite had already copied part of the new WAL into the file, so the state it was restarted from cannot be verified"
            : "page \(p) of the database file differs from the captured state"
    }

    /// Reads pages of the database file (all of the captured state's pages when `pages` is
    /// nil) in runs, handing each to `body` until it returns false.
    private func forEachPage(of db: RawFile, pages: [UInt32]?,
                             _ body: (UInt32, UnsafeRawPointer) -> Bool) throws(EngineError) {
        let ps = map.pageSize
        let per = max(1, Capturer.chunkBytes / ps)
        let list = pages ?? []
        var i = 0
        var next: UInt32 = 1
        while true {
            let first: UInt32, n: Int
            if pages != nil {
                guard i < list.count else { return }
                first = list[i]
                var run = 1
                while i + run < list.count, run < per, list[i + run] == first + UInt32(run) { run += 1 }
                n = run
                i += run
            } else {
                guard next <= map.pageCount else { return }
                first = next
                n = Int(min(UInt32(per), map.pageCount - next + 1))
                next += UInt32(n)
            }
            guard first >= 1, first + UInt32(n) - 1 <= map.pageCount else { continue }
            try db.readExactly(into: io, count: n * ps, at: UInt64(first - 1) * UInt64(ps))
            defer { map.trim() }   // (the map's pages read stay out of the process)
            for k in 0..<n where !body(first + UInt32(k), io + k * ps) { return }
        }
    }

    // MARK: - Divergence

    /// Records that the live database left the captured history: says which captured
    /// transactions it no longer has (the SCN whose state its file holds, when one does) and
    /// how to get them back, then records a gap and goes on from the live state.
    func recordDivergence(_ why: String) throws(EngineError) {
        if reportsDivergence {
            diverged = why
            throw .walChanged(path: database.databasePath, detail: why)
        }
        let last = scn
        let dbPath = database.databasePath
        var detail = why + ". "
        if let kept = try? scnOfDatabaseFile() {
            if kept == last {
                detail += "The live database still has every captured transaction (through SCN \(last))."
            } else {
                detail += "The live database no longer has the transactions after SCN \(kept) (SCN \(kept + 1) to \(last) were captured): `cairn restore \(dbPath) --scn \(last) --to PATH` brings them back."
            }
        } else {
            detail += "The live database matches no captured state; everything captured through SCN \(last) can be restored with `cairn restore \(dbPath) --scn \(last) --to PATH`."
        }
        detail += " Take a level-0 backup to start a new chain from the live database."
        try recordGap(detail: detail)
    }

    /// The newest captured SCN whose state the database file alone holds (the live database
    /// as a new connection would read it without the WAL), among the recent transactions.
    private func scnOfDatabaseFile() throws(EngineError) -> UInt64? {
        let db = try SharedFiles.reader(database.databasePath)
        let ps = map.pageSize
        let pages = UInt32(try db.size() / UInt64(ps))
        var state: UInt64 = 0
        var next: UInt32 = 1
        let per = max(1, Capturer.chunkBytes / ps)
        while next <= pages {
            let n = Int(min(UInt32(per), pages - next + 1))
            try db.readExactly(into: io, count: n * ps, at: UInt64(next - 1) * UInt64(ps))
            for k in 0..<n { state &+= Hash.page(io + k * ps, size: ps, pgno: next + UInt32(k)) }
            next += UInt32(n)
        }
        if state == map.state { return scn }
        return recentStates.scn(of: state)
    }

    /// Records a gap: one SCN stands for the changes that were not captured; the page map
    /// is rebuilt from the database as it is now and capture continues from there.
    ///
    /// The new state cannot be replayed from the log (a gap record holds no pages), so it is
    /// made durable first: the page map at the gap's SCN, then the control file (the gap and a
    /// capture point there), then the gap record. A capture that resumes after a crash starts
    /// from that page map, and writes the gap record itself when the crash came before it.
    func recordGap(detail: String) throws(EngineError) {
        let snapshot = try DatabaseSnapshot(databasePath: database.databasePath)
        defer { snapshot.close() }
        var newMap = try snapshot.pageMap()
        let gapScn = database.control.scn(after: scn, commits: 1)
        newMap.resetTracking(at: gapScn)
        let gapPosition = snapshot.position
        try newMap.write(to: database.layout.pageMapFile, scn: gapScn, incarnation: incarnation, keys: try database.writingKeys())
        let point = RedoState.CapturePoint(scn: gapScn, incarnation: incarnation, position: gapPosition, stateChecksum: Hash.hex(newMap.state))
        try database.transact { (c: inout ControlFile) throws(EngineError) in
            c.redo.gaps.append(.init(scn: gapScn, incarnation: c.incarnation, detectedAt: Date(), detail: detail))
            c.redo.capture = point
            c.scn = max(c.scn, gapScn)
        }
        map = newMap
        position = gapPosition
        scn = gapScn
        generationFrames.removeAll()
        recentStates.removeAll()
        logger.error("gap detected at SCN \(gapScn): \(detail)")
        try writeGapRecord()
        recentStates.append(scn: gapScn, state: map.state)
    }

    /// Writes the gap record for the current SCN (the state is already in the page map and
    /// the control file) and makes it durable.
    func writeGapRecord() throws(EngineError) {
        try ensureLog()
        try writeRecord(RedoRecord(kind: .gap, pageCount: 0, scn: scn, commitMicros: Self.nowMicros(), databasePages: map.pageCount,
                                   flags: 0, stateChecksum: map.state, position: position), pages: [], wal: nil)
        try log!.sync()
        unsyncedSince = nil
        gapRecordPending = false
    }
}
