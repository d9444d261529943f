import Foundation
import CairnFormats
import CairnCatalog

/// Plans a recovery from the control file and the files that exist: which backup to start
/// from and how far the logs after it lead — stopping before a gap (changes never captured)
/// or a log that is nowhere to be found. Logs are judged by their sizes and headers; only the
/// open online log is read, for the SCN of its last intact transaction. `cairn status` and
/// `cairn restore` share this planning, so the recoverable SCN that status shows is where a
/// default restore goes.
struct RecoveryPlanner {
    typealias Position = LineagePath.Position

    let engine: RecoveryEngine
    let path: LineagePath
    /// Backups a recovery can start from, with their place on the lineage.
    let candidates: [(backup: BackupRecord, position: Position)]
    /// The logs of the lineage in recovery order.
    let logs: [Log]
    /// The newest captured SCN on the lineage.
    let captured: Position

    /// A log of the lineage as far as planning can tell.
    struct Log {
        let segment: Int
        let sequence: UInt64
        let record: LogRecord?
        /// First and last SCN; nil for an open log with no intact record.
        let low: UInt64?
        let high: UInt64?
        /// Where a copy seems to be; nil when nowhere (`looked` says where it was looked for).
        let found: String?
        let looked: [String]
    }

    /// Why recovery from a backup stops before the newest captured SCN.
    enum Stop {
        case gap(RedoState.Gap)
        case missingLog(sequence: UInt64, incarnation: Int, looked: [String])
    }

    /// How far recovery from one backup reaches.
    struct Reach {
        let backup: BackupRecord
        let start: Position
        let end: Position
        let stop: Stop?
    }

    /// What the engine carries out.
    struct Plan {
        let planner: RecoveryPlanner
        let backup: BackupRecord
        let start: Position
        /// Where recovery goes.
        let target: Position
        /// What was asked for: everything captured (complete recovery), or an explicit point.
        let asked: Position
        let complete: Bool
        var captured: Position { planner.captured }
        /// What the plan leaves out of `asked`.
        let shortfall: RecoveryShortfall?
    }

    init(engine: RecoveryEngine) {
        self.engine = engine
        let control = engine.control
        path = engine.lineage
        let path = self.path
        candidates = control.restorableBackups.compactMap { b in
            guard control.chain(of: b) != nil, let p = path.position(scn: b.scn, incarnation: b.incarnation) else { return nil }
            return (b, p)
        }
        logs = Self.lineageLogs(engine, after: candidates.map(\.position).min())
        let live = engine.incarnation == control.incarnation
            ? max(control.scn, control.redo.capture.map { $0.incarnation == control.incarnation ? $0.scn : 0 } ?? 0) : 0
        var newest = Position(index: engine.segments.count - 1, scn: max(live, path.chain.last?.resetScn ?? 0))
        for l in logs { if let h = l.high { newest = max(newest, Position(index: l.segment, scn: h)) } }
        for c in candidates { newest = max(newest, c.position) }
        captured = newest
    }

    /// Every log of the lineage; where each one is, for those that end after `oldest`.
    static func lineageLogs(_ engine: RecoveryEngine, after oldest: Position?) -> [Log] {
        let locator = LogLocator(control: engine.control)
        var out: [Log] = []
        for i in engine.segments.indices {
            let incarnation = engine.segments[i].incarnation
            for (seq, rec) in engine.logs(segment: i) {
                var looked: [String] = []
                if let rec {
                    let needed = oldest.map { Position(index: i, scn: rec.highScn) > $0 } ?? false
                    let found = needed ? locator.presence(incarnation: incarnation, sequence: seq, record: rec, looked: &looked) : nil
                    out.append(Log(segment: i, sequence: seq, record: rec, low: rec.lowScn, high: rec.highScn, found: found, looked: looked))
                    continue
                }
                // The open online log: its intact records, read from the member that holds it.
                let found = locator.presence(incarnation: incarnation, sequence: seq, record: nil, looked: &looked)
                var low: UInt64?, high: UInt64?
                if let found, let reader = try? RedoLogReader(path: found) {
                    while let r = try? reader.next(strict: false) {
                        if low == nil { low = r.scn }
                        high = r.scn
                    }
                }
                out.append(Log(segment: i, sequence: seq, record: nil, low: low, high: high, found: found, looked: looked))
            }
        }
        return out
    }

    // MARK: - Reach

    /// Follows the logs from `backup` until they end, one is missing, or a gap comes.
    func reach(from backup: BackupRecord, at start: Position) -> Reach {
        let segs = engine.segments
        var cur = start
        var stop: Stop?
        walk: for i in start.index..<segs.count {
            if i > start.index {
                // The next incarnation branches off at the end of this segment.
                guard cur.scn >= segs[i - 1].end else {
                    stop = endOfLogs(segment: i - 1)
                    break
                }
                cur = Position(index: i, scn: segs[i].start)
            }
            for l in logs where l.segment == i {
                if cur.scn >= segs[i].end { break }
                guard let high = l.high, high > cur.scn else { continue }
                if l.found == nil || (l.low ?? 0) > engine.next(after: cur.scn, segment: i) {
                    // Missing, or a log before it (not even recorded) is.
                    let seq = l.found == nil ? l.sequence : l.sequence - 1
                    stop = .missingLog(sequence: seq, incarnation: segs[i].incarnation, looked: l.found == nil ? l.looked : [])
                    break walk
                }
                cur = Position(index: i, scn: min(high, segs[i].end))
            }
        }
        if let (gap, at) = firstGap(after: start) {
            if !(cur < at) {
                cur = before(gap, at: at)
                stop = .gap(gap)
            } else if stop == nil {
                stop = .gap(gap)
            }
        }
        return Reach(backup: backup, start: start, end: cur, stop: stop)
    }

    private func endOfLogs(segment i: Int) -> Stop {
        let c = engine.control
        let incarnation = engine.segments[i].incarnation
        let seq = (c.redo.logs.filter { $0.incarnation == incarnation }.map(\.sequence).max() ?? 0) + 1
        return .missingLog(sequence: seq, incarnation: incarnation, looked: c.redo.archiveDestinations + c.redo.memberDirectories)
    }

    /// The first gap on the lineage after `start`.
    func firstGap(after start: Position) -> (RedoState.Gap, Position)? {
        engine.control.redo.gaps.compactMap { g -> (RedoState.Gap, Position)? in
            guard let p = path.position(scn: g.scn, incarnation: g.incarnation), start < p else { return nil }
            return (g, p)
        }.min { $0.1 < $1.1 }
    }

    /// The last point before a gap: the SCN before it, or the branch point when the gap is
    /// the first SCN of its incarnation.
    func before(_ gap: RedoState.Gap, at p: Position) -> Position {
        let inc = path.chain[p.index]
        return Position(index: p.index, scn: gap.scn == inc.startScn ? inc.resetScn : gap.scn - 1)
    }

    func reaches(backupId: UInt64?) -> [Reach] {
        candidates.filter { backupId == nil || $0.backup.id == backupId }.map { reach(from: $0.backup, at: $0.position) }
    }

    /// Of the reaches given, the one that reads the fewest bytes to `target` (the newest when equal).
    func cheapest(_ reaches: [Reach], through target: Position) -> Reach? {
        reaches.map { ($0, engine.cost(of: $0.backup, through: target.scn)) }
            .min { $0.1 != $1.1 ? $0.1 < $1.1 : $1.0.start < $0.0.start }?.0
    }

    // MARK: - Plans

    /// Complete recovery: as far as any backup's logs lead.
    func complete(backupId: UInt64?) throws(EngineError) -> Plan {
        let all = reaches(backupId: backupId)
        guard let furthest = all.map(\.end).max(), let best = cheapest(all.filter { $0.end == furthest }, through: furthest) else {
            throw noStart(backupId: backupId, target: nil)
        }
        return Plan(planner: self, backup: best.backup, start: best.start, target: furthest, asked: captured, complete: true, shortfall: shortfall(best, through: captured))
    }

    /// Recovery to an explicit point; when it cannot be reached, an error naming the newest
    /// point that can, or with `allowIncomplete` that point.
    func explicit(_ scn: UInt64, backupId: UInt64?, allowIncomplete: Bool) throws(EngineError) -> Plan {
        guard let index = engine.place(scn) else {
            let which = engine.incarnation == engine.control.incarnation ? "the current incarnation's lineage" : "the lineage of incarnation \(engine.incarnation)"
            throw .unrecoverable("SCN \(scn) is not on \(which) (it is on an abandoned branch). Name the incarnation it belongs to with --incarnation; see `cairn list incarnations`.")
        }
        let target = Position(index: index, scn: scn)
        if captured < target {
            let reachable = (try? complete(backupId: nil)).map { "; the newest reachable point is SCN \($0.target.scn)" } ?? ""
            throw .unrecoverable("SCN \(scn) is not reachable: the newest captured transaction of \(engine.database.databasePath) is SCN \(captured.scn)\(reachable). See `cairn status`.")
        }
        let all = reaches(backupId: backupId).filter { !(target < $0.start) }
        if let best = cheapest(all.filter { !($0.end < target) }, through: target) {
            return Plan(planner: self, backup: best.backup, start: best.start, target: target, asked: target, complete: false, shortfall: nil)
        }
        guard let furthest = all.map(\.end).max(), let best = cheapest(all.filter { $0.end == furthest }, through: furthest) else {
            throw noStart(backupId: backupId, target: scn)
        }
        if allowIncomplete {
            return Plan(planner: self, backup: best.backup, start: best.start, target: furthest, asked: target, complete: false, shortfall: shortfall(best, through: target))
        }
        throw unreachable(scn, best)
    }

    private func unreachable(_ scn: UInt64, _ best: Reach) -> EngineError {
        switch best.stop {
        case let .gap(g)?:
            return .unrecoverable("No backup lets recovery reach SCN \(scn): changes at SCN \(g.scn) were never captured (\(g.detail)). Recovery does not cross that gap; the newest reachable point is SCN \(best.end.scn): restore to it with --scn \(best.end.scn) (a restore without a target goes there by itself), or take a level-0 backup to start a new chain.")
        case let .missingLog(seq, inc, looked)?:
            return .missingLog(sequence: seq, incarnation: inc, looked: looked, recoveredTo: best.end.scn)
        case nil:
            return .unrecoverable("SCN \(scn) cannot be reached from backup \(best.backup.id): its logs end at SCN \(best.end.scn), the newest reachable point. See `cairn list logs` and `cairn status`.")
        }
    }

    private func noStart(backupId: UInt64?, target: UInt64?) -> EngineError {
        if let backupId {
            let what = target.map { "reach SCN \($0): it is newer than the target, or" } ?? "start a recovery: it is"
            return .unrecoverable("Backup \(backupId) cannot \(what) on another incarnation's branch, EXPIRED, or a level 1 whose chain is broken. See `cairn list backups` and `cairn status`.")
        }
        return .noBackups(database: engine.database.databasePath)
    }

    /// What recovery to `reach` leaves out of everything through `end`, and why.
    func shortfall(_ reach: Reach, through end: Position) -> RecoveryShortfall? {
        guard reach.end < end else { return nil }
        let db = engine.database.databasePath
        let cause: RecoveryShortfall.Cause, reason: String, action: String
        switch reach.stop {
        case let .gap(g)?:
            cause = .gap
            reason = "changes at SCN \(g.scn) (incarnation \(g.incarnation)) were never captured (\(g.detail)); recovery never crosses a gap"
            action = "Take a level-0 backup (`cairn backup \(db)`) to start a new chain that recovery can follow past it."
        case let .missingLog(seq, inc, looked)?:
            cause = .missingLog
            reason = "log sequence \(seq) of incarnation \(inc) is missing (looked for in \(looked.isEmpty ? "the control file's records" : looked.joined(separator: ", ")))"
            action = "Bring the log back into an archive destination or an online log directory and restore again, or take a level-0 backup (`cairn backup \(db)`) to start a new chain."
        case nil:
            cause = .missingLog
            reason = "no log found holds the transactions after SCN \(reach.end.scn)"
            action = "See `cairn list logs \(db)`; take a level-0 backup (`cairn backup \(db)`) to start a new chain."
        }
        return leftOut(after: reach.end, through: end, cause: cause, reason: reason, action: action)
    }

    /// The shortfall between two points of the lineage.
    func leftOut(after a: Position, through b: Position, cause: RecoveryShortfall.Cause, reason: String, action: String) -> RecoveryShortfall {
        let gaps = UInt64(engine.control.redo.gaps.filter { g in
            path.position(scn: g.scn, incarnation: g.incarnation).map { a < $0 && !(b < $0) } ?? false
        }.count)
        let count = scnCount(after: a, through: b)
        return RecoveryShortfall(cause: cause, transactions: count - min(count, gaps), fromScn: firstScn(after: a), toScn: b.scn,
                                 reason: reason, action: action)
    }

    /// SCNs of the lineage after `a` and at or before `b` (each incarnation's own SCNs start
    /// at its startScn).
    func scnCount(after a: Position, through b: Position) -> UInt64 {
        guard a < b else { return 0 }
        let segs = engine.segments
        var n: UInt64 = 0
        for k in a.index...b.index {
            let own = path.chain[k].startScn
            let lo = k == a.index ? max(a.scn + 1, own) : own
            let hi = k == b.index ? b.scn : segs[k].end
            if hi >= lo { n += hi - lo + 1 }
        }
        return n
    }

    /// The first SCN on the lineage after `a`.
    func firstScn(after a: Position) -> UInt64 {
        if a.index + 1 < path.chain.count, a.scn >= engine.segments[a.index].end { return path.chain[a.index + 1].startScn }
        return engine.next(after: a.scn, segment: a.index)
    }

    // MARK: - Status

    /// How far a complete recovery reaches now (what `restore` without a target would do).
    func reachNow() -> RecoveryReach {
        do throws(EngineError) {
            let plan = try complete(backupId: nil)
            return RecoveryReach(capturedScn: captured.scn, recoverableScn: plan.target.scn, backupId: plan.backup.id, shortfall: plan.shortfall)
        } catch {
            let db = engine.database.databasePath
            let none = leftOut(after: Position(index: 0, scn: 0), through: captured, cause: .noBackup,
                               reason: "no usable backup is on the current incarnation's lineage", action: "Take one with `cairn backup \(db)`.")
            return RecoveryReach(capturedScn: captured.scn, recoverableScn: nil, backupId: nil, shortfall: none)
        }
    }
}
