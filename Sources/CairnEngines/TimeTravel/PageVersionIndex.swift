import Foundation
import CairnFormats
import CairnCatalog

/// Where every version of every page written after a backup lives, up to a target SCN: the
/// log and record holding it. Built by reading the records' page entries only (nothing is
/// decompressed), so it costs a pass over the logs' bytes, not over the pages they describe.
struct PageVersionIndex {
    /// One stored version of a page.
    struct Version {
        /// Index into `logs`.
        let log: Int32
        let recordOffset: UInt64
        let scn: UInt64
    }

    /// A shrink of the database: pages past `pages` are gone from `scn` on (they read as zeros
    /// if the database grows again before being written).
    struct Shrink {
        let scn: UInt64
        let pages: UInt32
    }

    /// Each page's versions, oldest first.
    private(set) var versions: [UInt32: [Version]] = [:]
    private(set) var shrinks: [Shrink] = []
    /// The logs the versions are in (paths; temporary copies are released by their owner).
    private(set) var logs: [LogLocator.Found] = []
    /// Per log, the offset of its first record indexed: records before it are at or before
    /// the backup's SCN.
    private(set) var firstIndexed: [Int32: UInt64] = [:]
    /// The database state checksum each record indexed recorded, by SCN.
    private(set) var states: [UInt64: UInt64] = [:]
    /// The database's size in pages at the target.
    private(set) var pageCount: UInt32
    /// The last SCN indexed (the target once the index is complete).
    private(set) var reached: UInt64

    /// Every change of the database's size (SCN, pages from then on), and the size at the backup.
    private(set) var sizes: [Shrink] = []
    let startPages: UInt32

    init(backupScn: UInt64, backupPages: UInt32) {
        pageCount = backupPages
        startPages = backupPages
        reached = backupScn
    }

    /// Indexes the records of the log at `found` after `reached` through `through`.
    mutating func add(_ found: LogLocator.Found, through: UInt64) throws(EngineError) {
        let reader = try RedoLogReader(path: found.path)
        let log = Int32(logs.count)
        logs.append(found)
        var last = reached
        while let r = try reader.next(strict: found.closed, entries: { [last] (r: RedoRecord, offset: UInt64, e: PageChangeFormat.Entry) throws(EngineError) in
            guard r.scn > last, r.scn <= through else { return }
            if self.firstIndexed[log] == nil { self.firstIndexed[log] = offset }
            self.versions[e.pgno, default: []].append(Version(log: log, recordOffset: offset, scn: r.scn))
        }) {
            if r.scn <= last { continue }
            if r.scn > through { break }
            if r.kind == .gap {
                throw .unrecoverable("\(found.path) records a gap at SCN \(r.scn): its changes were never captured, so no state after SCN \(r.scn - 1) can be read back through it")
            }
            states[r.scn] = r.stateChecksum
            if r.databasePages < pageCount { shrinks.append(Shrink(scn: r.scn, pages: r.databasePages)) }
            if r.databasePages != pageCount { sizes.append(Shrink(scn: r.scn, pages: r.databasePages)) }
            pageCount = r.databasePages
            last = r.scn
        }
        reached = last
    }

    /// The newest version of `pgno` at or before `scn`, or nil when the page was not written
    /// after the backup by then; `zero` when it was cut off by a shrink after that version
    /// (or after the backup), so it reads as zeros.
    func newest(_ pgno: UInt32, atOrBefore scn: UInt64) -> (version: Version?, zero: Bool) {
        let list = versions[pgno] ?? []
        let n = list.partitionPoint { $0.scn > scn }
        let v = n == 0 ? nil : list[n - 1]
        let since = v?.scn ?? 0
        let cut = shrinks.contains { $0.scn > since && $0.scn <= scn && $0.pages < pgno }
        return (v, cut)
    }

    /// A key naming the version of `pgno` as of `scn`: the page number and which of its
    /// versions (0: the backup's; all ones: zeros after a shrink).
    func versionKey(_ pgno: UInt32, atOrBefore scn: UInt64) -> UInt64 {
        let list = versions[pgno] ?? []
        let n = list.partitionPoint { $0.scn > scn }
        let since = n == 0 ? 0 : list[n - 1].scn
        if shrinks.contains(where: { $0.scn > since && $0.scn <= scn && $0.pages < pgno }) { return UInt64(pgno) << 32 | 0xFFFF_FFFF }
        return UInt64(pgno) << 32 | UInt64(n)
    }

    /// The database's size in pages as of `scn`.
    func pageCount(asOf scn: UInt64) -> UInt32 {
        let n = sizes.partitionPoint { $0.scn > scn }
        return n == 0 ? startPages : sizes[n - 1].pages
    }

    /// Whether the record at `offset` of log `log` is at or before the backup's SCN.
    func predatesBackup(log: Int32, recordOffset: UInt64) -> Bool {
        recordOffset < firstIndexed[log] ?? .max
    }

    /// The version of `pgno` stored by the record at `offset` of log `log`.
    func version(_ pgno: UInt32, log: Int32, recordOffset: UInt64) -> Version? {
        versions[pgno]?.last { $0.log == log && $0.recordOffset == recordOffset }
    }

    /// Pages written after SCN `scn` (through the target).
    func pagesWritten(after scn: UInt64) -> [UInt32] {
        versions.compactMap { pgno, list in (list.last?.scn ?? 0) > scn ? pgno : nil }.sorted()
    }
}

extension Array {
    /// The index of the first element for which `isAfter` holds, in an array where it holds
    /// for a suffix (binary search).
    func partitionPoint(_ isAfter: (Element) -> Bool) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if isAfter(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
