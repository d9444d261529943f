import Foundation
import CairnFormats

/// The pages a flashback rewrites, as of its target, rebuilt backwards from the live database:
/// a page's live version is the newest one the logs recorded, and each record after the
/// target that stored the page as a change against its previous version gives that version
/// back (the change is the XOR of the two). So a flashback of the last few transactions reads
/// those transactions' records and the pages they wrote, not the backup. A page the walk
/// cannot take back to the target — a record after it stored it whole, or the database shrank
/// below it after the target — comes from `pages` (the backup and the logs forwards).
///
/// Pages are rebuilt in batches of ascending page numbers (`batchBytes` of them at a time),
/// each version checked on the way against the hash its record names; callers ask for the
/// pages in ascending order (a map pass and a write pass each rebuild every batch once).
/// `live` must not change meanwhile: build it while no other process has the database open.
final class RewoundPages {
    let pages: PointInTimePages
    let target: UInt64
    let live: LivePages
    private let order: [UInt32]
    private let position: [UInt32: Int]
    private let batchPages: Int
    private let buffer: UnsafeMutableRawPointer
    /// The batch held: each page's slot.
    private var slots: [UInt32: Int] = [:]
    private var readers: [Int32: RedoLogReader] = [:]
    /// Pages rebuilt backwards from the live database, and from `pages` (for the report).
    private(set) var rewound = 0
    private(set) var forwards = 0

    init(pages: PointInTimePages, target: UInt64, rewrite: [UInt32], live: LivePages, batchBytes: Int = 64 << 20) {
        self.pages = pages
        self.target = target
        self.live = live
        order = rewrite
        position = Dictionary(uniqueKeysWithValues: rewrite.enumerated().map { ($1, $0) })
        batchPages = max(1, min(rewrite.count, batchBytes / pages.pageSize))
        buffer = .allocate(byteCount: batchPages * pages.pageSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Copies page `pgno` (one of the pages to rewrite) as of the target into `out`.
    func read(_ pgno: UInt32, into out: UnsafeMutableRawPointer) throws(EngineError) {
        guard let at = position[pgno] else { return try pages.read(pgno, asOf: target, into: out) }
        if slots[pgno] == nil { try load(from: at - at % batchPages) }
        out.copyMemory(from: buffer + slots[pgno]! * pages.pageSize, byteCount: pages.pageSize)
    }

    /// Rebuilds the batch starting at `start` in `order`.
    private func load(from start: Int) throws(EngineError) {
        slots = [:]
        let batch = order[start..<min(order.count, start + batchPages)]
        for (i, p) in batch.enumerated() { slots[p] = i }
        var forward = Set(batch.filter(cannotRewind))
        try readLive(batch.filter { !forward.contains($0) })
        try undoRecords(after: target, of: batch.filter { !forward.contains($0) }, forward: &forward)
        let back = batch.filter { forward.contains($0) }
        if !back.isEmpty { try pages.warm(back, asOf: target) }
        for p in back { try pages.read(p, asOf: target, into: slot(p)) }
        forwards += back.count
        rewound += batch.count - back.count
    }

    private func slot(_ p: UInt32) -> UnsafeMutableRawPointer { buffer + slots[p]! * pages.pageSize }

    /// A page the walk back cannot reach the target for: past the database's size now, or
    /// cut off by a shrink after the target (what it held is gone from the live file).
    private func cannotRewind(_ p: UInt32) -> Bool {
        p > pages.pageCount(asOf: pages.index.reached) || pages.index.shrinks.contains { $0.scn > target && $0.pages < p }
    }

    private func readLive(_ batch: [UInt32]) throws(EngineError) {
        guard !batch.isEmpty else { return }
        for p in batch { try live.read(p, into: slot(p)) }
    }

    /// Takes each page of `batch` back through the records after `scn` that wrote it, newest
    /// first; a page one of them stored whole goes to `forward`.
    private func undoRecords(after scn: UInt64, of batch: [UInt32], forward: inout Set<UInt32>) throws(EngineError) {
        struct Key: Hashable { let log: Int32, offset: UInt64 }
        var records: [Key: (scn: UInt64, pages: Set<UInt32>)] = [:]
        for p in batch {
            for v in pages.index.versions[p] ?? [] where v.scn > scn {
                records[Key(log: v.log, offset: v.recordOffset), default: (v.scn, [])].pages.insert(p)
            }
        }
        let pageSize = pages.pageSize
        for (key, record) in records.sorted(by: { $0.value.scn > $1.value.scn }) {
            let wanted = record.pages.subtracting(forward)
            if wanted.isEmpty { continue }
            let log = try reader(key.log)
            var seen = 0
            let compact = try log.stored(recordAt: key.offset, only: wanted.contains) { (e: PageChangeFormat.Entry, data: UnsafeRawPointer) throws(EngineError) in
                seen += 1
                let page = slot(e.pgno)
                guard Hash.page(page, size: pageSize, pgno: e.pgno) == e.hash else {
                    throw .verificationFailed(file: live.databasePath, detail: "page \(e.pgno) is not the version the log record at offset \(key.offset) of \(log.path) wrote (SCN \(record.scn)), which the versions after it lead back to: the database was changed without being captured, and nothing was flashed back (see `cairn advise \(live.databasePath)`)")
                }
                if e.kind == .whole { forward.insert(e.pgno) } else { PageChangeFormat.apply(data, to: page, count: pageSize) }
            }
            guard compact else { forward.formUnion(wanted); continue }
            guard seen == wanted.count else {
                throw .corrupt(file: log.path, offset: key.offset, detail: "the record holds \(seen) of the \(wanted.count) pages its entries listed when the logs were indexed")
            }
        }
    }

    private func reader(_ log: Int32) throws(EngineError) -> RedoLogReader {
        if let r = readers[log] { return r }
        let r = try RedoLogReader(path: pages.index.logs[Int(log)].path)
        readers[log] = r
        return r
    }
}
