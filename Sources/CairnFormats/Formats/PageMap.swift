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
    private var hashColumn: PageColumn
    /// Nil: every page was last changed at `trackedSince`.
    private var changeColumn: PageColumn?
    private var count: Int
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

    private init(pageSize: Int, hashColumn: PageColumn, changeColumn: PageColumn?, count: Int, state: UInt64, trackedSince: UInt64) {
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

    // MARK: persistence (`capture/pagemap`, `pages.map` of a backup)
    //
    // "CAIRNMAP", version u32 (2), incarnation u32, scn u64, page size u32, count u32, state u64,
    // trackedSince u64, then count page hashes u64, then count last-change SCNs u64, then xxh3
    // of everything before it. Version 1 had no change SCNs (read as tracked since its SCN).
    // Written and read a chunk at a time (at most 1 MiB of entries at once).

    package static let version: UInt32 = 2

    /// Writes the map to `path` atomically (a temporary file, fsync'd, renamed over it).
    package func write(to path: String, scn: UInt64, incarnation: Int) throws(EngineError) {
        try FileSystem.atomicWrite(to: path) { (f: RawFile) throws(EngineError) in
            var offset: UInt64 = 0
            try encode(scn: scn, incarnation: incarnation) { (p, n) throws(EngineError) in
                try f.write(p, count: n, at: offset)
                offset += UInt64(n)
            }
        }
    }

    /// `changes: false` writes version 1 (hashes only): a backup's page map needs no history.
    package func encoded(scn: UInt64, incarnation: Int, changes: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(scn: scn, incarnation: incarnation, changes: changes) { p, n in
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        }
        return bytes
    }

    /// Hands the encoded map to `sink` in order, a piece at a time (header, chunks of entries,
    /// checksum). `changes: false` encodes version 1 (hashes only).
    package func encode<E: Error>(scn: UInt64, incarnation: Int, changes: Bool = true,
                                  into sink: (UnsafeRawPointer, Int) throws(E) -> Void) throws(E) {
        let hasher = StreamingHash()
        func emit(_ p: UnsafeRawPointer, _ n: Int) throws(E) {
            guard n > 0 else { return }
            hasher.update(p, n)
            try sink(p, n)
        }
        let header = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { header.deallocate() }
        header.initializeMemory(as: UInt8.self, repeating: 0, count: 56)
        do {
            let p = header
            for (i, c) in "CAIRNMAP".utf8.enumerated() { p.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            LE.put32(changes ? Self.version : 1, p, 8)
            LE.put32(UInt32(truncatingIfNeeded: incarnation), p, 12)
            LE.put64(scn, p, 16)
            LE.put32(UInt32(pageSize), p, 24)
            LE.put32(UInt32(count), p, 28)
            LE.put64(state, p, 32)
            LE.put64(changes ? trackedSince : 0, p, 40)
        }
        try emit(header, 48)
        func column(_ c: PageColumn?, fill: UInt64) throws(E) {
            var i = 0
            var filled: UnsafeMutablePointer<UInt64>?
            defer { filled?.deallocate() }
            while i < count {
                let n = min(count - i, PageColumn.chunk)
                if let c {
                    try emit(UnsafeRawPointer(c.base! + i), n * 8)
                    c.trim()
                } else {
                    if filled == nil {
                        filled = .allocate(capacity: PageColumn.chunk)
                        filled!.initialize(repeating: fill, count: PageColumn.chunk)
                    }
                    try emit(UnsafeRawPointer(filled!), n * 8)
                }
                i += n
            }
        }
        try column(hashColumn, fill: 0)
        if changes { try column(changeColumn, fill: trackedSince) }
        LE.put64(hasher.value, header, 48)
        try sink(header + 48, 8)
    }

    /// Reads a page map; returns it with the SCN and incarnation it describes. `fileHash`,
    /// when given, is fed every byte of the file (for a checksum of the whole file).
    package static func read(_ path: String, fileHash: StreamingHash? = nil) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        let f = try RawFile(path: path, mode: .read)
        let size = try f.size()
        return try decode(size: Int(size), file: path, fileHash: fileHash) { (p, n, at) throws(EngineError) in
            try f.readExactly(into: p, count: n, at: UInt64(at))
        }
    }

    package static func decode(_ bytes: [UInt8], file path: String) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        try bytes.withBytes { (src, total) throws(EngineError) in
            try decode(size: total, file: path, fileHash: nil) { (p, n, at) throws(EngineError) in
                p.copyMemory(from: src + at, byteCount: n)
            }
        }
    }

    private static func decode(size n: Int, file path: String, fileHash: StreamingHash?,
                               read: (UnsafeMutableRawPointer, Int, Int) throws(EngineError) -> Void) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { buffer.deallocate() }
        if n >= 56 { try read(buffer, 48, 0) }
        let header = n >= 56 ? [UInt8](UnsafeRawBufferPointer(start: buffer, count: 48)) : []
        guard n >= 56, Array(header[0..<8]) == Array("CAIRNMAP".utf8) else {
            throw .corrupt(file: path, offset: 0, detail: "not a Cairn page map")
        }
        let hasher = StreamingHash()
        hasher.update(header)
        fileHash?.update(header)
        let (version, count, scn, pageSize, state, tracked, incarnation) = header.withUnsafeBytes { b in
            let p = b.baseAddress!
            return (LE.get32(p, 8), Int(LE.get32(p, 28)), LE.get64(p, 16), Int(LE.get32(p, 24)), LE.get64(p, 32), LE.get64(p, 40), Int(LE.get32(p, 12)))
        }
        guard version == 1 || version == 2 else { throw .unsupportedFormat(file: path, found: Int(version), supported: Int(Self.version)) }
        let perPage = version == 1 ? 8 : 16
        guard n == 48 + count * perPage + 8 else { throw .truncated(file: path, expected: UInt64(48 + count * perPage + 8), actual: UInt64(n)) }
        var sum: UInt64 = 0
        // Reads one column a chunk at a time, straight into its memory; returns whether every entry equals `uniform`.
        func column(_ c: PageColumn, at offset: Int, summing: Bool, uniform: UInt64) throws(EngineError) -> Bool {
            var i = 0
            var same = true
            while i < count {
                let k = min(count - i, PageColumn.chunk)
                let p = c.base! + i
                try read(UnsafeMutableRawPointer(p), k * 8, offset + i * 8)
                hasher.update(p, k * 8)
                fileHash?.update(p, k * 8)
                for j in 0..<k {
                    if summing { sum &+= p[j] } else if p[j] != uniform { same = false }
                }
                c.trim()
                i += k
            }
            return same
        }
        let hashes = PageColumn(capacity: count)
        _ = try column(hashes, at: 48, summing: true, uniform: 0)
        var changes: PageColumn?
        if version == 2 {
            let c = PageColumn(capacity: count)
            if !(try column(c, at: 48 + count * 8, summing: false, uniform: tracked)) { changes = c }
        }
        try read(buffer + 48, 8, n - 8)
        fileHash?.update(buffer + 48, 8)
        guard hasher.value == LE.get64(buffer, 48) else {
            throw .corrupt(file: path, offset: nil, detail: "page map checksum mismatch")
        }
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw .corrupt(file: path, offset: 24, detail: "implausible page size \(pageSize)")
        }
        guard sum == state else { throw .corrupt(file: path, offset: 32, detail: "page map state mismatch") }
        let map = PageMap(pageSize: pageSize, hashColumn: hashes, changeColumn: changes, count: count, state: sum,
                          trackedSince: version == 1 ? scn : tracked)
        return (map, scn, incarnation)
    }
}
