import Foundation

/// The hash of every page of the database at one SCN, and their sum (the database state
/// checksum). The capturer keeps it current to stamp every record with the state after it;
/// recovery keeps one for the file it rebuilds; the change tracker (later) derives from it.
public struct PageMap: Sendable, Equatable {
    public private(set) var hashes: [UInt64]
    public private(set) var state: UInt64 = 0
    public let pageSize: Int

    public init(pageSize: Int, hashes: [UInt64] = []) {
        self.pageSize = pageSize
        self.hashes = hashes
        state = hashes.reduce(0, &+)
    }

    public var pageCount: UInt32 { UInt32(hashes.count) }

    /// Hash of a page never written (SQLite reads it as zeros).
    public static func zeroPageHash(pgno: UInt32, pageSize: Int) -> UInt64 {
        let z = [UInt8](repeating: 0, count: pageSize)
        return z.withUnsafeBytes { Hash.page($0.baseAddress!, size: pageSize, pgno: pgno) }
    }

    public mutating func reserve(_ n: Int) { hashes.reserveCapacity(n) }

    /// Adds the hash of the next page (building a map in page order).
    public mutating func append(_ h: UInt64) {
        hashes.append(h)
        state &+= h
    }

    /// Sets the size of the database in pages; new pages count as zero pages until written.
    public mutating func resize(_ pages: UInt32) {
        let n = Int(pages)
        if n < hashes.count {
            for h in hashes[n...] { state &-= h }
            hashes.removeLast(hashes.count - n)
        } else if n > hashes.count {
            for pgno in (hashes.count + 1)...n {
                let h = Self.zeroPageHash(pgno: UInt32(pgno), pageSize: pageSize)
                hashes.append(h)
                state &+= h
            }
        }
    }

    /// Records a new version of page `pgno` (1-based, within the current size).
    public mutating func set(_ pgno: UInt32, hash: UInt64) {
        let i = Int(pgno) - 1
        state &-= hashes[i]
        hashes[i] = hash
        state &+= hash
    }

    /// Applies one page of a redo record (growing the map when the page lies past its end).
    public mutating func apply(pgno: UInt32, page: UnsafeRawPointer) {
        if pgno > pageCount { resize(pgno) }
        set(pgno, hash: Hash.page(page, size: pageSize, pgno: pgno))
    }

    /// Applies the database size a redo record ends with; gaps replace the state entirely,
    /// so only their size is known and the caller rebuilds the map.
    public mutating func finish(_ r: RedoRecord) {
        resize(r.databasePages)
    }

    // MARK: persistence (`capture/pagemap`): "CAIRNMAP", version, scn, incarnation, page size, count, state, then hashes, then xxh3

    public func write(to path: String, scn: UInt64, incarnation: Int) throws(CairnError) {
        var bytes = [UInt8](repeating: 0, count: 48 + hashes.count * 8 + 8)
        bytes.withUnsafeMutableBytes { b in
            let p = b.baseAddress!
            for (i, c) in "CAIRNMAP".utf8.enumerated() { p.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
            LE.put32(1, p, 8)
            LE.put32(UInt32(incarnation), p, 12)
            LE.put64(scn, p, 16)
            LE.put32(UInt32(pageSize), p, 24)
            LE.put32(UInt32(hashes.count), p, 28)
            LE.put64(state, p, 32)
            for (i, h) in hashes.enumerated() { LE.put64(h, p, 48 + i * 8) }
            let n = 48 + hashes.count * 8
            LE.put64(Hash.xxh3(p, n), p, n)
        }
        try FileSystem.atomicWrite(bytes, to: path)
    }

    /// Reads a page map; returns it with the SCN and incarnation it describes.
    public static func read(_ path: String) throws(CairnError) -> (map: PageMap, scn: UInt64, incarnation: Int) {
        let bytes = try FileSystem.readAll(path)
        guard bytes.count >= 56, Array(bytes[0..<8]) == Array("CAIRNMAP".utf8) else {
            throw .corrupt(file: path, offset: 0, detail: "not a Cairn page map")
        }
        return try bytes.withBytes { (p, n) throws(CairnError) in
            guard LE.get32(p, 8) == 1 else { throw .unsupportedFormat(file: path, found: Int(LE.get32(p, 8)), supported: 1) }
            let count = Int(LE.get32(p, 28))
            guard n == 48 + count * 8 + 8 else { throw .truncated(file: path, expected: UInt64(48 + count * 8 + 8), actual: UInt64(n)) }
            guard Hash.xxh3(p, n - 8) == LE.get64(p, n - 8) else { throw .corrupt(file: path, offset: nil, detail: "page map checksum mismatch") }
            var hashes = [UInt64](repeating: 0, count: count)
            for i in 0..<count { hashes[i] = LE.get64(p, 48 + i * 8) }
            let map = PageMap(pageSize: Int(LE.get32(p, 24)), hashes: hashes)
            guard map.state == LE.get64(p, 32) else { throw .corrupt(file: path, offset: 32, detail: "page map state mismatch") }
            return (map, LE.get64(p, 16), Int(LE.get32(p, 12)))
        }
    }
}
