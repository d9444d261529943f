import Foundation
import CairnFormats
import CairnCatalog

/// Reads the online logs of the current incarnation from a process other than the capturer,
/// incrementally: a first pass reads what is there (while writers run), and `refresh` reads
/// only what was appended since (e.g. for a moment while writers are blocked). It yields the
/// newest captured record, and optionally every page written by records after an SCN.
final class OnlineLogScan {
    private let control: ControlFile
    private let pagesAfter: UInt64?
    private var readers: [Int: RedoLogReader] = [:]
    private(set) var newest: OnlineLogTail.Tail?
    /// Pages of the records after `pagesAfter`, and those records' SCNs.
    private(set) var pages = Set<UInt32>()
    private(set) var scns: [UInt64] = []
    /// A gap record after `pagesAfter` (the pages it stands for are unknown).
    private(set) var sawGap = false

    init(control: ControlFile, pagesAfter: UInt64? = nil) {
        self.control = control
        self.pagesAfter = pagesAfter
        refresh()
    }

    /// Reads the records appended since the last pass; a group rewritten meanwhile is read afresh.
    /// A closed log the control file records, wholly at or before `pagesAfter` (or any closed
    /// log when pages are not wanted), is not read: its last record is at or before the
    /// capture point, which `tail` counts.
    func refresh() {
        let c = control
        for g in c.redo.groups {
            if let r = readers[g.number] {
                if r.headerUnchanged() {
                    if !skipped.contains(g.number) {
                        r.refreshSize()
                        readRecords(r)
                    }
                    continue
                }
                readers[g.number] = nil
                skipped.remove(g.number)
            }
            for path in c.redo.memberPaths(group: g.number) where !g.staleMembers.contains(path) {
                guard let r = try? RedoLogReader(path: path), Int(r.header.incarnation) == c.incarnation else { continue }
                readers[g.number] = r
                let closed = c.redo.logs.first { $0.incarnation == c.incarnation && $0.sequence == r.header.sequence }
                if let closed, closed.highScn <= pagesAfter ?? .max, closed.highScn <= c.redo.capture?.scn ?? 0 {
                    skipped.insert(g.number)
                } else {
                    readRecords(r)
                }
                break
            }
        }
    }

    private var skipped = Set<Int>()

    private func readRecords(_ reader: RedoLogReader) {
        let after = pagesAfter
        let found = PageSet()
        // Page numbers only: read as hashes, nothing is decompressed or rebuilt.
        func note(_ r: RedoRecord, _ pgno: UInt32, _ hash: UInt64) throws(EngineError) {
            if let a = after, r.scn > a { found.pages.insert(pgno) }
        }
        func next() -> RedoRecord? {
            if after == nil { return try? reader.next(strict: false) }
            do throws(EngineError) { return try reader.next(strict: false, hashes: note) } catch {
                // The pages of an encrypted log read without its key are unknown, as a gap's are.
                if error.isEncryptionKeyProblem { sawGap = true }
                return nil
            }
        }
        while let r = next() {
            if r.kind == .transaction, r.position.frame > 0 { scnAt[PositionKey(r.position)] = r.scn }
            if newest == nil || r.scn > newest!.scn {
                newest = OnlineLogTail.Tail(scn: r.scn, position: r.position, sequence: reader.header.sequence)
            }
            if let a = after, r.scn > a {
                if r.kind == .gap { sawGap = true }
                scns.append(r.scn)
            }
        }
        pages.formUnion(found.pages)
    }

    private final class PageSet { var pages = Set<UInt32>() }

    /// The SCN of each transaction read, by its commit frame in the WAL.
    private var scnAt: [PositionKey: UInt64] = [:]

    private struct PositionKey: Hashable {
        let salt1: UInt32, salt2: UInt32, frame: UInt32
        init(_ p: WALPosition) { salt1 = p.salt1; salt2 = p.salt2; frame = p.frame }
    }

    /// The SCN of the transaction that ended at `position` (a commit frame of a WAL
    /// generation), when it was read.
    func scn(at position: WALPosition) -> UInt64? { scnAt[PositionKey(position)] }

    /// The newest captured transaction: the newest record, or the capture point of `c` when newer.
    func tail(_ c: ControlFile) -> OnlineLogTail.Tail? {
        if let p = c.redo.capture, newest == nil || p.scn > newest!.scn {
            return OnlineLogTail.Tail(scn: p.scn, position: p.position, sequence: c.redo.sequence)
        }
        return newest
    }

    /// The pages written after `pagesAfter`, or nil when the records read do not run on from it
    /// without a hole (a log was reused before it could be read) or include a gap.
    func pagesIfContinuous() -> Set<UInt32>? {
        guard let after = pagesAfter, !sawGap else { return nil }
        let sorted = Array(Set(scns)).sorted()
        var expected = control.scn(after: after, commits: 1)
        for s in sorted {
            guard s == expected else { return nil }
            expected = s + 1
        }
        return pages
    }
}
