import Foundation

/// The hash of every page of the database at one SCN, and their sum (the database state
/// checksum). The capturer keeps it current to stamp every record with the state after it;
/// recovery keeps one for the file it rebuilds.
///
/// It also tracks changes for incremental backups: for each page, the SCN of the last
/// transaction that wrote it. Tracking is exact from `trackedSince` on (pages not written since
/// then carry that SCN), so the pages changed after any SCN s ≥ trackedSince are exactly those
/// whose last change is above s.
package struct PageMap: Sendable, Equatable {
    package private(set) var hashes: [UInt64]
    package private(set) var lastChange: [UInt64]
    package private(set) var state: UInt64 = 0
    package private(set) var trackedSince: UInt64
    package let pageSize: Int

    package init(pageSize: Int, hashes: [UInt64] = [], trackedSince: UInt64 = .max) {
        self.pageSize = pageSize
        self.hashes = hashes
        self.trackedSince = trackedSince
        lastChange = [UInt64](repeating: trackedSince, count: hashes.count)
        state = hashes.reduce(0, &+)
    }

    package var pageCount: UInt32 { UInt32(hashes.count) }

    /// Hash of a page never written (SQLite reads it as zeros).
    package static func zeroPageHash(pgno: UInt32, pageSize: Int) -> UInt64 {
        let z = [UInt8](repeating: 0, count: pageSize)
        return z.withUnsafeBytes { Hash.page($0.baseAddress!, size: pageSize, pgno: pgno) }
    }

    package mutating func reserve(_ n: Int) {
        hashes.reserveCapacity(n)
        lastChange.reserveCapacity(n)
    }

    /// Adds the hash of the next page (building a map in page order).
    package mutating func append(_ h: UInt64) {
        hashes.append(h)
        lastChange.append(trackedSince)
        state &+= h
    }

    /// Sets the size of the database in pages; new pages count as zero pages until written
    /// and as changed at `scn`.
    package mutating func resize(_ pages: UInt32, scn: UInt64 = .max) {
        let n = Int(pages)
        if n < hashes.count {
            for h in hashes[n...] { state &-= h }
            hashes.removeLast(hashes.count - n)
            lastChange.removeLast(lastChange.count - n)
        } else if n > hashes.count {
            for pgno in (hashes.count + 1)...n {
                let h = Self.zeroPageHash(pgno: UInt32(pgno), pageSize: pageSize)
                hashes.append(h)
                lastChange.append(scn)
                state &+= h
            }
        }
    }

    /// Records a new version of page `pgno` (1-based, within the current size), written at `scn`.
    package mutating func set(_ pgno: UInt32, hash: UInt64, scn: UInt64 = .max) {
        let i = Int(pgno) - 1
        state &-= hashes[i]
        hashes[i] = hash
        state &+= hash
        lastChange[i] = scn
    }

    /// Applies one page of a redo record (growing the map when the page lies past its end).
    package mutating func apply(pgno: UInt32, page: UnsafeRawPointer, scn: UInt64 = .max) {
        if pgno > pageCount { resize(pgno, scn: scn) }
        set(pgno, hash: Hash.page(page, size: pageSize, pgno: pgno), scn: scn)
    }

    /// Forgets change history: every page counts as changed at `scn` (after a gap, a rebuild
    /// or a restore, when what changed before is unknown).
    package mutating func resetTracking(at scn: UInt64) {
        trackedSince = scn
        for i in lastChange.indices { lastChange[i] = scn }
    }

    /// Whether `changed(after:)` is exact for `scn`.
    package func tracks(since scn: UInt64) -> Bool { scn >= trackedSince }

    /// Pages whose last change is after `scn`, ascending.
    package func changed(after scn: UInt64) -> [UInt32] {
        var out: [UInt32] = []
        lastChange.withUnsafeBufferPointer { b in
            for i in 0..<b.count where b[i] > scn { out.append(UInt32(i + 1)) }
        }
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

    package static let version: UInt32 = 2

    package func write(to path: String, scn: UInt64, incarnation: Int) throws(EngineError) {
        let bytes = encoded(scn: scn, incarnation: incarnation)
        try FileSystem.atomicWrite(bytes, to: path)
    }

    /// `changes: false` writes version 1 (hashes only): a backup's page map needs no history.
    package func encoded(scn: UInt64, incarnation: Int, changes: Bool = true) -> [UInt8] {
        if !changes { return encodedHashesOnly(scn: scn, incarnation: incarnation) }
        let n = 48 + hashes.count * 16
        var bytes = [UInt8](repeating: 0, count: n + 8)
        bytes.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            for (i, c) in "CAIRNMAP".utf8.enumerated() { p.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            LE.put32(Self.version, p, 8)
            LE.put32(UInt32(incarnation), p, 12)
            LE.put64(scn, p, 16)
            LE.put32(UInt32(pageSize), p, 24)
            LE.put32(UInt32(hashes.count), p, 28)
            LE.put64(state, p, 32)
            LE.put64(trackedSince, p, 40)
            let changes = 48 + hashes.count * 8
            for (i, h) in hashes.enumerated() { LE.put64(h, p, 48 + i * 8) }
            for (i, c) in lastChange.enumerated() { LE.put64(c, p, changes + i * 8) }
            LE.put64(Hash.xxh3(p, n), p, n)
        }
        return bytes
    }

    private func encodedHashesOnly(scn: UInt64, incarnation: Int) -> [UInt8] {
        let n = 48 + hashes.count * 8
        var bytes = [UInt8](repeating: 0, count: n + 8)
        bytes.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            for (i, c) in "CAIRNMAP".utf8.enumerated() { p.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            LE.put32(1, p, 8)
            LE.put32(UInt32(incarnation), p, 12)
            LE.put64(scn, p, 16)
            LE.put32(UInt32(pageSize), p, 24)
            LE.put32(UInt32(hashes.count), p, 28)
            LE.put64(state, p, 32)
            hashes.withUnsafeBytes { h in (p + 48).copyMemory(from: h.baseAddress!, byteCount: h.count) }
            LE.put64(Hash.xxh3(p, n), p, n)
        }
        return bytes
    }

    /// Reads a page map; returns it with the SCN and incarnation it describes.
    package static func read(_ path: String) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        try decode(try FileSystem.readAll(path), file: path)
    }

    package static func decode(_ bytes: [UInt8], file path: String) throws(EngineError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        guard bytes.count >= 56, Array(bytes[0..<8]) == Array("CAIRNMAP".utf8) else {
            throw .corrupt(file: path, offset: 0, detail: "not a Cairn page map")
        }
        return try bytes.withBytes { (p, n) throws(EngineError) in
            let version = LE.get32(p, 8)
            guard version == 1 || version == 2 else { throw .unsupportedFormat(file: path, found: Int(version), supported: Int(Self.version)) }
            let count = Int(LE.get32(p, 28))
            let perPage = version == 1 ? 8 : 16
            guard n == 48 + count * perPage + 8 else { throw .truncated(file: path, expected: UInt64(48 + count * perPage + 8), actual: UInt64(n)) }
            guard Hash.xxh3(p, n - 8) == LE.get64(p, n - 8) else { throw .corrupt(file: path, offset: nil, detail: "page map checksum mismatch") }
            let pageSize = Int(LE.get32(p, 24))
            guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
                throw .corrupt(file: path, offset: 24, detail: "implausible page size \(pageSize)")
            }
            var hashes = [UInt64](repeating: 0, count: count)
            for i in 0..<count { hashes[i] = LE.get64(p, 48 + i * 8) }
            let scn = LE.get64(p, 16)
            var map = PageMap(pageSize: pageSize, hashes: hashes, trackedSince: version == 1 ? scn : LE.get64(p, 40))
            guard map.state == LE.get64(p, 32) else { throw .corrupt(file: path, offset: 32, detail: "page map state mismatch") }
            if version == 2 {
                let changes = 48 + count * 8
                for i in 0..<count {
                    map.lastChange[i] = LE.get64(p, changes + i * 8)
                }
            }
            return (map, scn, Int(LE.get32(p, 12)))
        }
    }
}
