import Foundation

#if _endian(big)
#error("PageMap writes its columns to disk as they are in memory: little-endian hosts only")
#endif

/// The hash of every page of the database at one SCN, and their sum (the database state
/// checksum). The capturer keeps it current to stamp every record with the state after it;
/// recovery keeps one for the file it rebuilds.
///
/// It also tracks changes for incremental backups: for each page, the SCN of the last
/// transaction that wrote it. Tracking is exact from `trackedSince` on (pages not written since
/// then carry that SCN), so the pages changed after any SCN s ≥ trackedSince are exactly those
/// whose last change is above s.
///
/// Memory does not grow with the database: the entries live in `PageColumn`s (a mapped
/// scratch file past a few hundred KiB, whose pages do not stay resident), copied on write
/// like an array; the last-change column exists only once some page's last change differs
/// from `trackedSince` (backups and restores never need it). Files are written and read a
/// chunk at a time.
///
/// Not Sendable: the columns are shared between copies until one writes, which is safe only
/// within one thread. A map moves to another thread inside the value that owns it (`sending`);
/// threads that need some of its entries get them as plain values.
package struct PageMap: Equatable {
    var hashColumn: PageColumn
    /// Nil: every page was last changed at `trackedSince`.
    var changeColumn: PageColumn?
    var count: Int
    package private(set) var state: UInt64 = 0
    package private(set) var trackedSince: UInt64
    package let pageSize: Int

    package init(pageSize: Int, hashes: [UInt64] = [], trackedSince: UInt64 = .max) {
        self.pageSize = pageSize
        self.trackedSince = trackedSince
        count = hashes.count
        hashColumn = PageColumn(capacity: hashes.count)
        for (i, h) in hashes.enumerated() {
            hashColumn[i] = h
            state &+= h
            hashColumn.noteWrite(at: i)
        }
    }

    init(pageSize: Int, hashColumn: PageColumn, changeColumn: PageColumn?, count: Int, state: UInt64, trackedSince: UInt64) {
        self.pageSize = pageSize
        self.hashColumn = hashColumn
        self.changeColumn = changeColumn
        self.count = count
        self.state = state
        self.trackedSince = trackedSince
    }

    package var pageCount: UInt32 { UInt32(count) }

    /// A map equal to this one that shares no column with it, so it can move to another
    /// thread while this one stays (copy on write would share them until the first write).
    package func copy() -> sending PageMap {
        PageMap(pageSize: pageSize, hashColumn: hashColumn.copy(count: count), changeColumn: changeColumn?.copy(count: count),
                count: count, state: state, trackedSince: trackedSince)
    }

    /// Read-only view of one entry per page (0-based: page `pgno` at `pgno - 1`).
    package struct Entries {
        fileprivate let column: PageColumn?
        fileprivate let fill: UInt64
        package let count: Int
        @inline(__always) package subscript(i: Int) -> UInt64 {
            precondition(i >= 0 && i < count, "page map index out of range")
            return column?[i] ?? fill
        }
    }

    package var hashes: Entries { Entries(column: hashColumn, fill: 0, count: count) }

    /// Copies the hash of each page of `pgnos` that the map has (1...pageCount) to the same
    /// place in `out`, leaving the others: for a thread that compares pages with the map
    /// without sharing it.
    package func copyHashes(of pgnos: Span<UInt32>, into out: inout MutableSpan<UInt64>) {
        precondition(out.count >= pgnos.count, "room for every page's hash")
        pgnos.withUnsafeBufferPointer { pages in
            out.withUnsafeMutableBufferPointer { hashes in
                for (i, pgno) in pages.enumerated() where pgno >= 1 && Int(pgno) <= count { hashes[i] = hashColumn[Int(pgno) - 1] }
            }
        }
    }
    package var lastChange: Entries { Entries(column: changeColumn, fill: trackedSince, count: count) }

    /// Hands the resident pages of the map back to the kernel (call now and then in long
    /// read-only walks; writes do it by themselves).
    package func trim() {
        hashColumn.trim()
        changeColumn?.trim()
    }

    package static func == (a: PageMap, b: PageMap) -> Bool {
        guard a.pageSize == b.pageSize, a.count == b.count, a.state == b.state, a.trackedSince == b.trackedSince,
              a.hashColumn === b.hashColumn || a.hashColumn.equals(b.hashColumn, count: a.count) else { return false }
        switch (a.changeColumn, b.changeColumn) {
        case (nil, nil): return true
        case let (x?, y?): return x === y || x.equals(y, count: a.count)
        case let (x?, nil), let (nil, x?):
            for i in 0..<a.count where x[i] != a.trackedSince { return false }
            x.trim()
            return true
        }
    }

    /// Hash of a page never written (SQLite reads it as zeros).
    package static func zeroPageHash(pgno: UInt32, pageSize: Int) -> UInt64 {
        zeros.withUnsafeBytes { Hash.page($0.baseAddress!, size: pageSize, pgno: pgno) }
    }

    /// The largest SQLite page, all zeros (an array: immutable, so Sendable).
    private static let zeros = [UInt8](repeating: 0, count: 65536)

    // MARK: copy on write

    @inline(__always) private mutating func writableHashes() -> PageColumn {
        if !isKnownUniquelyReferenced(&hashColumn) { hashColumn = hashColumn.copy(count: count) }
        return hashColumn
    }

    /// The last-change column, made (filled with `trackedSince`) when there is none.
    @inline(__always) private mutating func writableChanges() -> PageColumn {
        if changeColumn == nil {
            let c = PageColumn(capacity: max(hashColumn.capacity, 1))
            c.fill(0..<count, with: trackedSince)
            changeColumn = c
        } else if !isKnownUniquelyReferenced(&changeColumn!) {
            changeColumn = changeColumn!.copy(count: count)
        }
        return changeColumn!
    }

    package mutating func reserve(_ n: Int) {
        writableHashes().reserve(n, keeping: count)
        if changeColumn != nil { writableChanges().reserve(n, keeping: count) }
    }

    /// Adds the hash of the next page (building a map in page order).
    package mutating func append(_ h: UInt64) {
        let c = writableHashes()
        if count == c.capacity { c.reserve(count + 1, keeping: count) }
        c[count] = h
        c.noteWrite(at: count)
        if changeColumn != nil {
            let l = writableChanges()
            if count >= l.capacity { l.reserve(count + 1, keeping: count) }
            l[count] = trackedSince
            l.noteWrite(at: count)
        }
        count += 1
        state &+= h
    }

    /// Sets the size of the database in pages; new pages count as zero pages until written
    /// and as changed at `scn`.
    package mutating func resize(_ pages: UInt32, scn: UInt64 = .max) {
        let n = Int(pages)
        if n < count {
            let c = hashColumn
            for i in n..<count {
                state &-= c[i]
                if i % PageColumn.chunk == 0 { c.trim() }
            }
            count = n
            c.trim()
        } else if n > count {
            let c = writableHashes()
            c.reserve(n, keeping: count)
            let l: PageColumn? = scn != trackedSince || changeColumn != nil ? writableChanges() : nil
            l?.reserve(n, keeping: count)
            for i in count..<n {
                let h = Self.zeroPageHash(pgno: UInt32(i + 1), pageSize: pageSize)
                c[i] = h
                c.noteWrite(at: i)
                if let l {
                    l[i] = scn
                    l.noteWrite(at: i)
                }
                state &+= h
            }
            count = n
        }
    }

    /// The hash of page `pgno`'s current version (nil past the end).
    package func hash(of pgno: UInt32) -> UInt64? {
        let i = Int(pgno) - 1
        guard i >= 0 && i < count else { return nil }
        return hashColumn[i]
    }

    /// Records a new version of page `pgno` (1-based, within the current size), written at `scn`.
    package mutating func set(_ pgno: UInt32, hash: UInt64, scn: UInt64 = .max) {
        let i = Int(pgno) - 1
        precondition(i >= 0 && i < count, "page \(pgno) is past the end of the page map")
        let c = writableHashes()
        state &-= c[i]
        c[i] = hash
        c.noteWrite(at: i)
        state &+= hash
        if changeColumn != nil || scn != trackedSince {
            let l = writableChanges()
            l[i] = scn
            l.noteWrite(at: i)
        }
    }

    /// Applies one page of a redo record (growing the map when the page lies past its end).
    package mutating func apply(pgno: UInt32, page: UnsafeRawPointer, scn: UInt64 = .max) {
        apply(pgno: pgno, hash: Hash.page(page, size: pageSize, pgno: pgno), scn: scn)
    }

    /// Applies one page of a redo record known by its hash.
    package mutating func apply(pgno: UInt32, hash: UInt64, scn: UInt64 = .max) {
        if pgno > pageCount { resize(pgno, scn: scn) }
        set(pgno, hash: hash, scn: scn)
    }

    /// Forgets change history: every page counts as changed at `scn` (after a gap, a rebuild
    /// or a restore, when what changed before is unknown).
    package mutating func resetTracking(at scn: UInt64) {
        trackedSince = scn
        changeColumn = nil
    }

    /// Whether `changed(after:)` is exact for `scn`.
    package func tracks(since scn: UInt64) -> Bool { scn >= trackedSince }

    /// Pages whose last change is after `scn`.
    package func changed(after scn: UInt64) -> PageSet {
        let out = PageSet()
        guard let l = changeColumn else {
            if trackedSince > scn && count > 0 { out.insert(1, through: UInt32(count)) }
            return out
        }
        for i in 0..<count {
            if l[i] > scn { out.insert(UInt32(i + 1)) }
            if i % PageColumn.chunk == PageColumn.chunk - 1 { l.trim() }
        }
        l.trim()
        return out
    }

    /// Applies the database size a redo record ends with; gaps replace the state entirely,
    /// so only their size is known and the caller rebuilds the map.
    package mutating func finish(_ r: RedoRecord) {
        resize(r.databasePages, scn: r.scn)
        if r.kind == .gap { resetTracking(at: r.scn) }
    }
}
