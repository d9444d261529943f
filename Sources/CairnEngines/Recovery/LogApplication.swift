import Foundation
import CairnFormats
import CairnCatalog

/// Applying logs to a restored backup: every transaction of the lineage after the backup, up
/// to the plan's target, each followed by a check of the database state it logged.
extension RecoveryEngine {
    /// What one log contributed.
    struct LogOutcome {
        var scn: UInt64
        var applied = 0
        var bytes: UInt64 = 0
        /// A gap record met before the target: changes there were never captured.
        var gap: RedoRecord?
    }

    /// Applies the logs after the plan's backup (or after `start`: a file recovered to that
    /// point earlier) through the plan's target.
    func applyLogs(to file: RawFile, map: inout PageMap, plan: RecoveryPlanner.Plan, result: inout Result,
                   from start: LineagePath.Position? = nil) throws(EngineError) {
        let segs = segments
        let target = plan.target.scn, endSeg = plan.target.index
        // A complete recovery (or --allow-incomplete) that meets a log no copy of which
        // verifies stops there and says so; an explicit target fails.
        let tolerant = allowIncomplete || plan.complete
        var current = start?.scn ?? plan.backup.scn
        let locator = self.locator
        let progress = ProgressMeter(label: "recover", totalBytes: 0, monitor: monitor)
        defer { progress.finish() }
        for i in (start ?? plan.start).index...endSeg {
            let segEnd = i == endSeg ? target : segs[i].end
            if current >= segEnd && i < endSeg { continue }
            for (seq, rec) in logs(segment: i) {
                if current >= segEnd { break }
                if let rec, rec.highScn <= current { continue }
                let found: LogLocator.Found
                do throws(EngineError) {
                    found = try locator.locate(incarnation: segs[i].incarnation, sequence: seq, record: rec)
                } catch {
                    guard case let .missingLog(s, inc, looked, _) = error else { throw error }
                    let e = EngineError.missingLog(sequence: s, incarnation: inc, looked: looked, recoveredTo: current)
                    guard tolerant else { throw e }
                    logger.warning("\(e.description)")
                    stop(&result, plan: plan, at: .init(index: i, scn: current), cause: .damagedLog,
                         reason: "no copy of log sequence \(s) of incarnation \(inc) verified (looked for in \(looked.joined(separator: ", ")))",
                         action: "Bring a good copy of the log back into an archive destination and restore again, or take a level-0 backup (`cairn backup \(database.databasePath)`) to start a new chain.")
                    return
                }
                defer { locator.release(found) }
                let outcome = try apply(found, segment: i, after: current, through: segEnd, to: file, map: &map, progress: progress)
                current = outcome.scn
                result.logsApplied += 1
                result.transactionsApplied += outcome.applied
                result.bytesApplied += outcome.bytes
                result.scn = current
                if let gap = outcome.gap {
                    guard tolerant else {
                        throw .unrecoverable("Recovery reached a gap at SCN \(gap.scn) in \(found.path): changes were not captured there. The newest reachable point from backup \(plan.backup.id) is SCN \(current); take a level-0 backup to start a new chain.")
                    }
                    stop(&result, plan: plan, at: .init(index: i, scn: current), cause: .gap,
                         reason: "log sequence \(seq) records a gap at SCN \(gap.scn): changes there were never captured; recovery never crosses a gap",
                         action: "Take a level-0 backup (`cairn backup \(database.databasePath)`) to start a new chain that recovery can follow past it.")
                    return
                }
            }
        }
        if current < target {
            let e = EngineError.missingLog(sequence: (control.redo.logs.filter { $0.incarnation == segs[endSeg].incarnation }.map(\.sequence).max() ?? 0) + 1,
                                          incarnation: segs[endSeg].incarnation,
                                          looked: control.redo.archiveDestinations + control.redo.memberDirectories, recoveredTo: current)
            guard tolerant else { throw e }
            stop(&result, plan: plan, at: .init(index: endSeg, scn: current), cause: .missingLog,
                 reason: "the logs found end at SCN \(current) (looked for the next one in \(control.redo.archiveDestinations + control.redo.memberDirectories))",
                 action: "Bring the missing log back and restore again, or take a level-0 backup (`cairn backup \(database.databasePath)`) to start a new chain.")
            return
        }
        result.incarnation = segs[endSeg].incarnation
    }

    /// Recovery stops at `position`, short of the plan's target: the result says what was left out.
    private func stop(_ result: inout Result, plan: RecoveryPlanner.Plan, at position: LineagePath.Position,
                      cause: RecoveryShortfall.Cause, reason: String, action: String) {
        result.incarnation = segments[position.index].incarnation
        result.shortfall = plan.planner.leftOut(after: position, through: plan.asked, cause: cause, reason: reason, action: action)
    }

    /// Applies the transactions of one log after `current` and through `end`, checking the
    /// database state after each; stops at a gap record.
    private func apply(_ found: LogLocator.Found, segment i: Int, after current: UInt64, through end: UInt64,
                       to file: RawFile, map: inout PageMap, progress: ProgressMeter) throws(EngineError) -> LogOutcome {
        let reader = try RedoLogReader(path: found.path)
        let pageSize = map.pageSize
        var localMap = map
        map = PageMap(pageSize: pageSize)   // (sole owner: updated in place, not copied)
        defer { map = localMap }
        var out = LogOutcome(scn: current)
        // Pages are written by a thread of their own while the next ones are rebuilt.
        let pages = PageWriteBehind(file: file, pageSize: pageSize)
        defer { pages.stop() }
        // Changes apply to the restored file, which holds the state just before each record
        // applied (records up to `cur` are already in it and are skipped unread). A page past
        // the database's size before the record is a zero page, whatever the file still holds
        // there (it is truncated once, at the end).
        let base = RedoLogReader.PageBase.target(read: { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            if pgno > localMap.pageCount {
                into.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
            } else {
                try pages.settle(pgno)
                try file.readPage(pgno, pageSize: pageSize, into: into)
            }
        })
        while let r = try reader.next(strict: found.closed, base: base, wanted: { [cur = out.scn] r in r.scn > cur && r.scn <= end },
                                      pages: { (r: RedoRecord, p: RedoLogReader.Page) throws(EngineError) in
            try pages.write(p.pgno, p.data)
            localMap.apply(pgno: p.pgno, hash: p.pageHash(pageSize: pageSize))
        }) {
            if r.scn <= out.scn { continue }
            if r.scn > end { break }
            let expected = next(after: out.scn, segment: i)
            guard r.scn == expected else {
                throw .corrupt(file: found.path, offset: nil, detail: "expected SCN \(expected) but the log continues at SCN \(r.scn)")
            }
            if r.kind == .gap {
                out.gap = r
                break
            }
            localMap.finish(r)
            guard localMap.state == r.stateChecksum else {
                throw .verificationFailed(file: found.path, detail: "database state after SCN \(r.scn) is \(Hash.hex(localMap.state)) but the log records \(Hash.hex(r.stateChecksum))")
            }
            out.scn = r.scn
            out.applied += 1
            out.bytes += UInt64(r.pageCount) * UInt64(pageSize)
            try progress.advance(UInt64(r.pageCount) * UInt64(pageSize))
        }
        try pages.finish()
        return out
    }
}
