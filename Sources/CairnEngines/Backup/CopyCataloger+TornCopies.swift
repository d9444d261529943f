import Foundation
import CairnFormats
import CairnCatalog

/// Torn copies (taken while the database was written): made consistent by applying the logs
/// from a point before the copy began until the state matches a recorded one.
extension CopyCataloger {
    /// Applies the logged transactions to the copy's page map from the start of log `k`
    /// onwards; the first transaction after which the state equals the recorded one is where
    /// the copy becomes consistent. Start points are tried from the log holding the copy's
    /// modification time backwards (k0, k0-1, k0-2, k0-4, ... 0): any start before the copy
    /// began works, so the earliest one decides when no later one does.
    func findTorn(_ copy: PageMap, logs: [LineageLog], startAt: Int, tried: inout [String]) throws(EngineError) -> (Match, PageMap)? {
        guard !logs.isEmpty else { return nil }
        var starts: [Int] = []
        var step = 1
        var k = min(startAt, logs.count - 1)
        starts.append(k)
        while k > 0 {
            k = max(0, k - step)
            starts.append(k)
            if starts.count > 2 { step *= 2 }
        }
        for k in starts {
            var map = copy
            var outcome = ""
            if let m = try apply(from: k, logs: logs, map: &map, file: nil, through: nil, outcome: &outcome) {
                return (m, map)
            }
            tried.append(outcome)
        }
        return nil
    }

    /// The next record of `reader`, each page of the transactions `wanted` accepts handed to
    /// `page` with its hash: without a file, by hash alone; with one, rebuilt on the copy's
    /// own pages, which may hold versions ahead of or behind the record (a torn copy), so a
    /// page that does not rebuild there comes without content and is left as it is.
    private func next(_ reader: RedoLogReader, closed: Bool, file: RawFile?, pageSize: Int, wanted: @escaping (RedoRecord) -> Bool,
                      page: @escaping (UInt32, UInt64, UnsafeRawPointer?) -> Void) throws(EngineError) -> RedoRecord? {
        guard let file else {
            return try reader.next(strict: closed, hashes: { (r: RedoRecord, pgno: UInt32, hash: UInt64) throws(EngineError) in
                if wanted(r) { page(pgno, hash, nil) }
            })
        }
        let base = RedoLogReader.PageBase.lenientTarget(read: { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            try file.readPage(pgno, pageSize: pageSize, into: into)
        }, skipped: { (pgno: UInt32, hash: UInt64) throws(EngineError) in page(pgno, hash, nil) })
        return try reader.next(strict: closed, base: base, wanted: wanted, pages: { (_: RedoRecord, p: RedoLogReader.Page) throws(EngineError) in
            page(p.pgno, p.pageHash(pageSize: pageSize), p.data)
        })
    }

    /// Applies transactions from the start of lineage log `k` to `map` (and to `file`'s
    /// pages when given) until the state matches a record's (or, with `through`, until that
    /// SCN). Returns the match, or nil with `outcome` saying how far it got.
    func apply(from k: Int, logs: [LineageLog], map: inout PageMap, file: RawFile?, through: UInt64?,
               outcome: inout String) throws(EngineError) -> Match? {
        let pageSize = map.pageSize
        var cur: UInt64?
        var from: UInt64?
        var applied = 0
        var pagesWritten = 0
        let startName = "from log sequence \(logs[k].sequence) of incarnation \(engine.segments[logs[k].segment].incarnation)"
        for l in logs[k...] {
            let seg = engine.segments[l.segment]
            let found: LogLocator.Found
            do throws(EngineError) { found = try locate(l) } catch {
                outcome = "\(startName): log sequence \(l.sequence) is missing after SCN \(cur ?? 0)"
                return nil
            }
            let reader = try RedoLogReader(path: found.path)
            var local = map
            var stop = false
            var match: Match?
            var writeError: EngineError?
            while !stop, let r = try next(reader, closed: found.closed, file: file, pageSize: pageSize,
                                          wanted: { [cur] r in r.scn <= seg.end && (cur.map { r.scn > $0 } ?? true) },
                                          page: { (pgno: UInt32, hash: UInt64, data: UnsafeRawPointer?) in
                if let file, let data {
                    do throws(EngineError) {
                        try file.write(data, count: pageSize, at: UInt64(pgno - 1) * UInt64(pageSize))
                    } catch { writeError = error }
                }
                pagesWritten += 1
                local.apply(pgno: pgno, hash: hash)
            }) {
                if let writeError { throw writeError }
                if let c = cur, r.scn <= c { continue }
                if r.scn > seg.end { break }
                if let c = cur, r.scn != engine.next(after: c, segment: l.segment) {
                    outcome = "\(startName): the logs continue at SCN \(r.scn) after SCN \(c)"
                    return nil
                }
                if r.kind == .gap {
                    outcome = "\(startName): stopped at the gap at SCN \(r.scn)"
                    return nil
                }
                if from == nil { from = r.scn == engine.control.lineage(of: control.incarnation)[l.segment].startScn ? seg.start : r.scn - 1 }
                local.finish(r)
                cur = r.scn
                applied += 1
                let hit = through.map { r.scn == $0 } ?? (local.state == r.stateChecksum)
                if hit {
                    if local.state != r.stateChecksum {
                        throw .verificationFailed(file: found.path, detail: "the cataloged copy's state after SCN \(r.scn) is \(Hash.hex(local.state)) but the log records \(Hash.hex(r.stateChecksum))")
                    }
                    match = Match(scn: r.scn, incarnation: seg.incarnation, time: Date(timeIntervalSince1970: Double(r.commitMicros) / 1e6),
                                  startLog: k, appliedFrom: from, applied: applied, pagesApplied: pagesWritten)
                    stop = true
                }
            }
            map = local
            if let match { return match }
        }
        outcome = "\(startName): applied \(applied) transaction(s) through SCN \(cur.map(String.init) ?? "-") without reaching a recorded state"
        return nil
    }
}
