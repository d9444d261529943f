import Foundation
import CairnFormats
import CairnCatalog

/// Picking up the current online log where a previous capture left it.
extension Capturer {
    /// Reads the current online log's members, takes the one with the most complete records
    /// as the truth (bringing the others in line), replays its records over the page map, and
    /// reopens it for appending — or records its switch when it was closed but not recorded.
    func resumeCurrentLog(mapScn: UInt64) throws(EngineError) {
        let c = database.control
        // A gap recorded in the page map and the control file whose record a crash kept out of
        // the log is written as soon as a log is open (here, or at the next step).
        gapRecordPending = c.redo.gaps.contains { $0.scn == scn && $0.incarnation == c.incarnation }
            && !c.redo.logs.contains { $0.incarnation == c.incarnation && $0.highScn >= scn }
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
            do throws(EngineError) {
                while let r = try reader.next(strict: false, hashes: { (r: RedoRecord, pgno: UInt32, hash: UInt64) throws(EngineError) in
                    guard r.scn > mapScn else { return }
                    m.apply(pgno: pgno, hash: hash, scn: r.scn)
                }) {
                    last = r
                    if r.scn > mapScn { m.finish(r) }
                }
            } catch {
                // Without the key of an encrypted log no member is readable: never start it afresh.
                if error.isEncryptionKeyProblem { throw error }
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
            // The switch to this group was recorded but its log never got a header (or it holds
            // a log of an incarnation left by an in-place restore or a flashback, which starts
            // its sequences at 0): start it afresh.
            try database.transact { (c: inout ControlFile) throws(EngineError) in
                c.redo.groups[g].status = .inactive
                if c.redo.sequence > 0 { c.redo.sequence -= 1 }
                c.redo.currentGroup = g == 0 ? c.redo.groups.count - 1 : g - 1
            }
            return
        }
        // Records after the page map's SCN carry capture on; a log that ends before the
        // capture point (a gap recorded in the page map and the control file, whose record the
        // crash kept out of the log) gets that record once it is open again.
        if let last = lastRecord, last.scn >= scn {
            if last.stateChecksum != replayMap.state && last.kind == .transaction {
                throw .corrupt(file: best.path, offset: nil,
                               detail: "replaying the online log gives state \(Hash.hex(replayMap.state)) but its last record says \(Hash.hex(last.stateChecksum))")
            }
            map = replayMap
            scn = last.scn
            position = last.position
        }
        if let last = lastRecord, last.scn >= scn { gapRecordPending = false }
        var cur = CurrentLog(sequence: best.reader.header.sequence, group: g)
        cur.records = best.reader.records
        // Rebuild the running totals of the open log.
        let again = try RedoLogReader(path: best.path)
        let hdr = UnsafeMutableRawPointer.allocate(byteCount: again.header.size, alignment: 8)
        defer { hdr.deallocate() }
        RedoLogFormat.encodeHeader(again.header, into: hdr)
        cur.contentHash.update(hdr, again.header.size)
        var first = true
        while let r = try again.next(strict: false) {
            if first { cur.lowScn = r.scn; cur.lowMicros = r.commitMicros; first = false }
            cur.highScn = r.scn
            cur.highMicros = r.commitMicros
            var checksum = again.lastRecordChecksum.littleEndian
            withUnsafeBytes(of: &checksum) { cur.contentHash.update($0.baseAddress!, 8) }
        }
        cur.recordBytes = again.end - UInt64(again.header.size)
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
        if let fresh = try reopen(paths, header: again.header, end: again.end, records: cur.records) {
            cur = CurrentLog(sequence: fresh.sequence, group: g)
            let h = UnsafeMutableRawPointer.allocate(byteCount: fresh.size, alignment: 8)
            defer { h.deallocate() }
            RedoLogFormat.encodeHeader(fresh, into: h)
            cur.contentHash.update(h, fresh.size)
        }
        current = cur
        // A log of an earlier format, or encrypted when the repository no longer is (or the
        // other way round), is closed rather than continued in this one's records.
        let encrypting = try database.writingKeys() != nil
        if again.header.version < RedoLogFormat.version || (again.header.encryption != nil) != encrypting { try switchLog() }
        if gapRecordPending { try writeGapRecord() }
    }

    /// Reopens the current log's members to append after `end`; one without records whose
    /// encryption is not the repository's is started afresh (same sequence) instead: its new
    /// header is returned.
    private func reopen(_ paths: [String], header: RedoLogFormat.Header, end: UInt64, records: Int) throws(EngineError) -> RedoLogFormat.Header? {
        let keys = try database.writingKeys()
        if records == 0, (header.encryption != nil) != (keys != nil) {
            var fresh = header
            fresh.version = RedoLogFormat.version
            fresh.encryption = nil
            var cipher: RedoLogCipher?
            if let keys, let key = keys.newest {
                fresh.encryption = .new(dataKey: key, masterKeyID: keys.masterKeyID)
                cipher = RedoLogCipher(header: fresh, dataKey: key)
            }
            log = try OnlineLogWriter(paths: paths, header: fresh, cipher: cipher, logger: logger)
            return fresh
        }
        log = try OnlineLogWriter(reopening: paths, header: header, cipher: try RedoLogCipher.forLog(header, file: paths.first ?? ""),
                                  end: end, logger: logger)
        return nil
    }
}
