import Foundation
import CairnCatalog

/// A database's recovery window, from its control file: the backups a restore can start from,
/// the logs (runs of consecutive sequences, archived or online), gaps, restore points and
/// incarnations.
enum TimelineBuilder {
    static func build(_ c: ControlFile, now: Date) -> Timeline {
        var t = Timeline()
        t.now = now
        t.backups = c.restorableBackups.sorted { $0.id < $1.id }.map {
            Timeline.Backup(id: $0.id, level: $0.level, cumulative: $0.isCumulative, scn: $0.scn, time: $0.startedAt)
        }
        t.logSpans = spans(c.redo.logs.filter { $0.status != .expired })
        t.gaps = c.redo.gaps.map { g in Timeline.Gap(scn: g.scn, time: time(of: g.scn, in: c) ?? g.detectedAt, detail: g.detail) }
        t.restorePoints = c.restorePoints.map { Timeline.Mark(name: $0.name, scn: $0.scn, time: $0.createdAt) }
        t.incarnations = c.incarnations.map { Timeline.Mark(name: "incarnation \($0.number)", scn: $0.startScn, time: $0.createdAt) }
        t.windowStart = t.backups.first { $0.level == 0 }?.time
        return t
    }

    /// What capture holds beyond the logs recorded so far (the current online log), up to now.
    static func addCurrentLog(_ t: inout Timeline, capturedScn: UInt64, now: Date) {
        let last = t.logSpans.last
        let lastScn = last?.lastScn ?? (t.backups.map(\.scn).max() ?? 0)
        guard capturedScn > lastScn, let start = last?.end ?? t.backups.last?.time else { return }
        if let l = last, !l.archived {
            t.logSpans[t.logSpans.count - 1].lastScn = capturedScn
            t.logSpans[t.logSpans.count - 1].end = now
        } else {
            t.logSpans.append(Timeline.LogSpan(firstScn: lastScn + 1, lastScn: capturedScn, start: start, end: now, archived: false, logs: 1))
        }
    }

    /// Consecutive logs of one incarnation with the same status make one span.
    private static func spans(_ logs: [LogRecord]) -> [Timeline.LogSpan] {
        var out: [Timeline.LogSpan] = []
        var last: LogRecord?
        for l in logs.sorted(by: { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }) {
            let archived = l.status == .archived
            let start = l.lowTime ?? l.closedAt, end = l.highTime ?? l.closedAt
            if let p = last, p.incarnation == l.incarnation, p.sequence + 1 == l.sequence, let s = out.last, s.archived == archived {
                out[out.count - 1].lastScn = max(s.lastScn, l.highScn)
                out[out.count - 1].end = max(s.end, end)
                out[out.count - 1].logs += 1
            } else {
                out.append(Timeline.LogSpan(firstScn: l.lowScn, lastScn: l.highScn, start: start, end: end, archived: archived, logs: 1))
            }
            last = l
        }
        return out
    }

    /// The commit time of `scn` as far as the logs tell (the end of the log before it).
    private static func time(of scn: UInt64, in c: ControlFile) -> Date? {
        c.redo.logs.filter { $0.highScn < scn }.max { $0.highScn < $1.highScn }.flatMap { $0.highTime ?? $0.closedAt }
    }
}
