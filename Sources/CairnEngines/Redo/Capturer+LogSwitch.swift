import Foundation
import CairnFormats
import CairnCatalog

/// Opening, closing and recording online logs.
extension Capturer {
    /// Opens the next online log when none is open. Throws `captureStalled` when the next
    /// group still holds a log that is not archived.
    func ensureLog() throws(EngineError) {
        if log != nil { return }
        let keys = try database.writingKeys()
        var next: NextLog?
        try database.transact { (c: inout ControlFile) throws(EngineError) in next = try claimNextGroup(&c, keys: keys) }
        if let next { try open(next) }
    }

    /// The next log: its group (index), header and, when it is encrypted, its cipher.
    struct NextLog {
        let group: Int
        let header: RedoLogFormat.Header
        let cipher: RedoLogCipher?
    }

    /// Makes the next group current in `c`, for a new log sequence, encrypted with the newest
    /// data key of `keys` when given; throws `captureStalled` when that group still holds a
    /// log that is not archived.
    func claimNextGroup(_ c: inout ControlFile, keys: UnlockedKeyring?) throws(EngineError) -> NextLog {
        let next = ((c.redo.currentGroup ?? -1) + 1) % c.redo.groups.count
        let g = c.redo.groups[next]
        if g.status == .active || g.status == .current {
            throw .captureStalled(group: g.number, sequence: g.sequence ?? 0, reason: RecoveryArea.stallReason(c, group: g))
        }
        let seq = c.redo.sequence + 1
        c.redo.currentGroup = next
        c.redo.sequence = seq
        c.redo.groups[next].status = .current
        c.redo.groups[next].sequence = seq
        c.redo.groups[next].incarnation = c.incarnation
        c.redo.groups[next].staleMembers = []
        var header = RedoLogFormat.Header(dbid: c.dbidValue, incarnation: UInt32(c.incarnation), pageSize: UInt32(map.pageSize),
                                          sequence: seq, firstScn: scn + 1, createdMicros: Self.nowMicros())
        guard let keys, let key = keys.newest else { return NextLog(group: next, header: header, cipher: nil) }
        header.encryption = .new(dataKey: key, masterKeyID: keys.masterKeyID)
        return NextLog(group: next, header: header, cipher: RedoLogCipher(header: header, dataKey: key))
    }

    /// Creates the members of a claimed log and makes it the current one.
    private func open(_ next: NextLog) throws(EngineError) {
        let g = database.control.redo.groups[next.group]
        let writer = try OnlineLogWriter(paths: database.control.redo.memberPaths(group: g.number), header: next.header, cipher: next.cipher, logger: logger)
        log = writer
        let cur = CurrentLog(sequence: next.header.sequence, group: next.group)
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: next.header.size, alignment: 8)
        defer { hdr.deallocate() }
        RedoLogFormat.encodeHeader(next.header, into: hdr)
        cur.contentHash.update(hdr, next.header.size)
        current = cur
        if !writer.stale.isEmpty { try noteStaleMembers(writer) }
    }

    func noteStaleMembers(_ w: OnlineLogWriter) throws(EngineError) {
        guard let cur = current else { return }
        let stale = w.stale.map(\.path)
        try database.transact { (c: inout ControlFile) throws(EngineError) in
            for s in stale where !c.redo.groups[cur.group].staleMembers.contains(s) { c.redo.groups[cur.group].staleMembers.append(s) }
        }
    }

    /// Closes the current log (trailer, fsync), records it and the capture point, and leaves
    /// the next log to open at the next transaction, or, with `openingNext` (a transaction
    /// waits for it), opens it now, recorded in the same control-file update (each update
    /// costs a few fsyncs, which a checkpoint of the application may be waiting behind).
    /// No-op when the log holds no records.
    package func switchLog(openingNext: Bool = false) throws(EngineError) {
        guard let log, let cur = current, cur.records > 0 else { return }
        let trailer = RedoLogFormat.Trailer(records: UInt64(cur.records), highScn: cur.highScn, highTimeMicros: cur.highMicros,
                                            contentBytes: log.offset, contentHash: cur.contentHash.value)
        let bytes = try log.close(trailer: trailer)
        unsyncedSince = nil
        if !log.stale.isEmpty { try noteStaleMembers(log) }
        try recordSwitch(closedBytes: bytes, sourcePath: log.memberPaths[0], openingNext: openingNext)
    }

    func recordSwitch(closedBytes: UInt64, sourcePath: String, openingNext: Bool = false) throws(EngineError) {
        guard let cur = current else { return }
        let xxh = try Archiver.fileHash(sourcePath)
        let keys = try database.writingKeys()
        try map.write(to: database.layout.pageMapFile, scn: scn, incarnation: incarnation, keys: keys)
        var next: NextLog?
        let point = RedoState.CapturePoint(scn: scn, incarnation: incarnation, position: position, stateChecksum: Hash.hex(map.state))
        let now = Date()
        try database.transact { (c: inout ControlFile) throws(EngineError) in
            let record = LogRecord(sequence: cur.sequence, incarnation: c.incarnation, group: c.redo.groups[cur.group].number,
                                   lowScn: cur.lowScn, highScn: cur.highScn,
                                   lowTime: Date(timeIntervalSince1970: Double(cur.lowMicros) / 1e6),
                                   highTime: Date(timeIntervalSince1970: Double(cur.highMicros) / 1e6),
                                   records: cur.records, bytes: closedBytes, xxh3: Hash.hex(xxh), status: .online,
                                   destinations: c.logDestinations.map { .init(destination: $0, state: .pending) },
                                   closedAt: now)
            c.redo.logs.removeAll { $0.incarnation == record.incarnation && $0.sequence == record.sequence }
            c.redo.logs.append(record)
            c.redo.groups[cur.group].status = .active
            c.redo.capture = point
            c.scn = max(c.scn, point.scn)
            c.redo.checkpointScn = max(c.redo.checkpointScn, lastCheckpointScn)
            // A group still waiting for archiving stalls capture at the next transaction instead.
            if openingNext { next = try? claimNextGroup(&c, keys: keys) }
        }
        log = nil
        current = nil
        logger.info("switched log: sequence \(cur.sequence) closed at SCN \(cur.highScn)")
        if let next { try open(next) }
    }
}
