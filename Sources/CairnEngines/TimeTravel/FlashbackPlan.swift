import Foundation
import CairnFormats

/// Which pages a flashback from `latest` to `target` rewrites, and the checks around it: the
/// pages written after the last point the two share (the logs' page entries say which), plus
/// those the database lost to a shrink after it and grew back without writing (they read as
/// zeros now). On the current lineage that point is the target itself; for a target on
/// another branch (an abandoned incarnation) it is where the branches part, and the pages
/// written on either branch since are rewritten.
struct FlashbackPlan {
    /// Serves the pages at the target.
    let pages: PointInTimePages
    let target: UInt64
    let latest: UInt64
    /// The database's size in pages at the target.
    let databasePages: UInt32
    /// The pages to rewrite (within the target's size), ascending.
    let rewrite: [UInt32]

    /// `pages` indexes the target's lineage from `base` (or before) through the target, or
    /// through `latest` when `current` is nil (both on the current lineage); `current` indexes
    /// the current lineage from `base` through `latest`.
    init(pages: PointInTimePages, target: UInt64, latest: UInt64, base: UInt64? = nil, current: PointInTimePages? = nil) {
        self.pages = pages
        self.target = target
        self.latest = latest
        let base = base ?? target
        let size = pages.pageCount(asOf: target)
        databasePages = size
        var set = Set<UInt32>()
        var smallest = size
        let branches = [(pages.index, current == nil ? latest : target)] + (current.map { [($0.index, latest)] } ?? [])
        for (index, upper) in branches {
            for p in index.pagesWritten(after: base) where p <= size { set.insert(p) }
            smallest = min(smallest, index.sizes.filter { $0.scn > base && $0.scn <= upper }.map(\.pages).min() ?? size)
        }
        if smallest < size { for p in (smallest + 1)...size { set.insert(p) } }
        rewrite = set.sorted()
    }

    /// Checks that the live database (its file and WAL) holds what the logs say it held at
    /// `latest`: each page to rewrite has the hash the map gives it, and the database has the
    /// map's size. Anything
    /// else means changes Cairn never captured; nothing is written then.
    func checkLive(_ live: LivePages, against map: PageMap) throws(EngineError) {
        let path = live.databasePath
        guard live.pageCount == map.pageCount else {
            throw .verificationFailed(file: path, detail: "the database is \(live.pageCount) pages, but \(map.pageCount) at SCN \(latest) as captured: it was changed without being captured; nothing was flashed back. Run `cairn advise \(path)`.")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pages.pageSize, alignment: 4096)
        defer { buffer.deallocate() }
        for p in rewrite where p <= map.pageCount {
            try live.read(p, into: buffer)
            guard Hash.page(buffer, size: pages.pageSize, pgno: p) == map.hash(of: p) else {
                throw .verificationFailed(file: path, detail: "page \(p) is not what capture recorded at SCN \(latest): the database was changed without being captured; nothing was flashed back. Run `cairn advise \(path)`.")
            }
        }
    }

    /// The page map at the target: `latest`'s with the rewritten pages' hashes at the target
    /// (as `image` gives them) and the target's size, checked against the state checksum
    /// recorded at the target.
    func mapAtTarget(from map: PageMap, image: (UInt32, UnsafeMutableRawPointer) throws(EngineError) -> Void) throws(EngineError) -> PageMap {
        var out = map.copy()
        out.resize(databasePages)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pages.pageSize, alignment: 4096)
        defer { buffer.deallocate() }
        for p in rewrite {
            try image(p, buffer)
            out.set(p, hash: Hash.page(buffer, size: pages.pageSize, pgno: p))
        }
        let expected = pages.index.states[target] ?? UInt64(pages.backup.stateChecksum, radix: 16)
        guard out.state == expected else {
            throw .verificationFailed(file: pages.backup.directory, detail: "the pages rebuilt for SCN \(target) sum to state \(Hash.hex(out.state)), not the \(expected.map(Hash.hex) ?? "?") recorded; nothing was flashed back")
        }
        return out
    }
}
