import Foundation
import CairnFormats

/// The path of SCNs that leads to one incarnation: its ancestors up to their branch points,
/// then the incarnation itself. Positions on the path order backups, logs and restore
/// points (SCNs alone do not: a backup taken just after a reset has the reset SCN, lower
/// than the abandoned branch's).
package struct LineagePath {
    package let chain: [ControlFile.Incarnation]

    package init(_ c: ControlFile, to incarnation: Int) {
        chain = c.lineage(of: incarnation)
    }

    func index(of incarnation: Int) -> Int? { chain.firstIndex { $0.number == incarnation } }

    /// Where `scn` of `incarnation` sits on the path, or nil when it is not on it (another
    /// branch, or past the point where the next incarnation of the path branched off).
    package func position(scn: UInt64, incarnation: Int) -> Position? {
        guard let i = index(of: incarnation) else { return nil }
        if i + 1 < chain.count && scn > chain[i + 1].resetScn { return nil }
        return Position(index: i, scn: scn)
    }

    package struct Position: Comparable {
        package let index: Int
        package let scn: UInt64
        package static func < (a: Position, b: Position) -> Bool { a.index != b.index ? a.index < b.index : a.scn < b.scn }

        package init(index: Int, scn: UInt64) {
            self.index = index
            self.scn = scn
        }
    }

    /// True when `log` holds transactions after `from` and at or before `to` on the path.
    func log(_ l: LogRecord, overlapsAfter from: Position, through to: Position) -> Bool {
        guard let i = index(of: l.incarnation) else { return false }
        if i < from.index || i > to.index { return false }
        if i == from.index && l.highScn <= from.scn { return false }
        if i == to.index && l.lowScn > to.scn { return false }
        return true
    }

    /// A stretch of the path: SCNs from `start` to `end` (inclusive) belong to `incarnation`.
    package struct Segment: Sendable {
        package let incarnation: Int
        package let start: UInt64
        package let end: UInt64
    }

    /// The path as segments, oldest first (segment `i` is `chain[i]`'s).
    package var segments: [Segment] {
        chain.enumerated().map { i, inc in
            Segment(incarnation: inc.number, start: i == 0 ? 0 : inc.resetScn,
                    end: i + 1 < chain.count ? chain[i + 1].resetScn : UInt64.max)
        }
    }

    /// The segment an SCN sits in (its index), or nil when it is on an abandoned branch. An
    /// SCN equal to a segment's start (a backup taken just after a reset) belongs to that
    /// segment when `incarnation` says so or is not given.
    package func place(_ scn: UInt64, incarnation: Int? = nil) -> Int? {
        let segs = segments
        for i in segs.indices.reversed() {
            if scn >= chain[i].startScn && scn <= segs[i].end { return i }
            if scn == segs[i].start && (incarnation == nil || incarnation == segs[i].incarnation) { return i }
        }
        if let first = segs.first, scn <= first.end { return 0 }
        return nil
    }

    /// The SCN after `base` within segment `i`: an incarnation's own SCNs start at its startScn.
    package func next(after base: UInt64, segment i: Int) -> UInt64 {
        let start = chain[i].startScn
        return base < start ? start : base + 1
    }
}

extension ControlFile {
    /// The backups a level-1 backup needs, itself first and its level 0 last, whatever their
    /// status; nil when a member is no longer recorded (`chain(of:)` also wants them AVAILABLE).
    func recordedChain(of b: BackupRecord) -> [BackupRecord]? {
        var out = [b]
        var cur = b
        var seen: Set<UInt64> = [b.id]
        while cur.level > 0 {
            guard let base = cur.baseId, !seen.contains(base), let parent = backups.first(where: { $0.id == base }) else { return nil }
            out.append(parent)
            seen.insert(base)
            cur = parent
        }
        return out
    }

    /// A gap recorded on `path` after `from` and at or before `to`.
    func gap(on path: LineagePath, after from: LineagePath.Position, through to: LineagePath.Position) -> RedoState.Gap? {
        redo.gaps.first { g in
            guard let p = path.position(scn: g.scn, incarnation: g.incarnation) else { return false }
            return from < p && !(to < p)
        }
    }
}
