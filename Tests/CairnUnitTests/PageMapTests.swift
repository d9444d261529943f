@testable import CairnFormats
import Foundation
import Testing

/// The page map off the heap: file-backed columns, copy on write, lazily kept change SCNs,
/// and files written and read a chunk at a time in the same format as before.
@Suite struct PageMapTests {
    /// A map large enough for file-backed columns (past `PageColumn.fileBytes`) and several chunks.
    static let pages = PageColumn.chunk * 2 + 1000

    func hash(_ i: Int, _ salt: UInt64 = 0) -> UInt64 { UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ salt }

    func built(_ n: Int = pages) -> PageMap {
        var m = PageMap(pageSize: 4096, trackedSince: 5)
        m.reserve(n)
        for i in 0..<n { m.append(hash(i)) }
        return m
    }

    @Test func largeMapsLiveInAFileAndKeepValues() {
        let m = built()
        #expect(m.pageCount == UInt32(Self.pages))
        #expect(m.state == (0..<Self.pages).reduce(UInt64(0)) { $0 &+ hash($1) })
        for i in stride(from: 0, to: Self.pages, by: 997) { #expect(m.hashes[i] == hash(i)) }
        #expect(m.lastChange[Self.pages - 1] == 5)
        #expect(m.changed(after: 5).count == 0)
    }

    @Test func copyOnWrite() {
        let a = built()
        var b = a
        b.set(10, hash: 42, scn: 9)
        #expect(a.hashes[9] == hash(9))
        #expect(b.hashes[9] == 42)
        #expect(a != b)
        #expect(b.changed(after: 5).sorted == [10])
        #expect(a.changed(after: 5).count == 0)
        var c = b
        c.resize(5)
        #expect(b.pageCount == UInt32(Self.pages))
        #expect(c.state == (0..<5).reduce(UInt64(0)) { $0 &+ hash($1) })
    }

    @Test func growingAndTracking() {
        var m = PageMap(pageSize: 4096, hashes: [1, 2, 3], trackedSince: 7)
        m.resize(UInt32(Self.pages), scn: 8)
        #expect(m.hashes[Self.pages - 1] == PageMap.zeroPageHash(pgno: UInt32(Self.pages), pageSize: 4096))
        #expect(m.changed(after: 7).count == Self.pages - 3)
        m.resetTracking(at: 9)
        #expect(m.changed(after: 9).count == 0)
        #expect(m.changed(after: 8).count == Self.pages)
        var n = PageMap(pageSize: 4096, hashes: [1, 2, 3], trackedSince: 7)
        for i in 4...Self.pages { n.append(PageMap.zeroPageHash(pgno: UInt32(i), pageSize: 4096)) }
        #expect(n.state == m.state)
    }

    @Test(arguments: [true, false]) func filesRoundTrip(changes: Bool) throws {
        var m = built()
        m.set(3, hash: 77, scn: 11)
        m.set(UInt32(Self.pages), hash: 78, scn: 12)
        let dir = NSTemporaryDirectory() + "pagemap-\(getpid())-\(changes)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/map"
        if changes {
            try m.write(to: path, scn: 12, incarnation: 3)
        } else {
            try FileSystem.atomicWrite(m.encoded(scn: 12, incarnation: 3, changes: false), to: path)
        }
        let whole = StreamingHash()
        let (r, scn, inc) = try PageMap.read(path, fileHash: whole)
        #expect(scn == 12 && inc == 3)
        #expect(whole.value == Hash.xxh3(try FileSystem.readAll(path)))
        if changes {
            #expect(r == m)
            #expect(r.changed(after: 5).sorted == [3, UInt32(Self.pages)])
        } else {
            #expect(r.state == m.state && r.pageCount == m.pageCount && r.trackedSince == 12)
            #expect(r.hashes[2] == 77)
        }
        // The bytes are the format as encoded whole before (header, hashes, changes, xxh3).
        let bytes = try FileSystem.readAll(path)
        #expect(bytes.count == 48 + Self.pages * (changes ? 16 : 8) + 8)
        #expect(Array(bytes[0..<8]) == Array("CAIRNMAP".utf8))
        #expect(try PageMap.decode(bytes, file: path).map == r)
        var damaged = bytes
        damaged[100] ^= 1
        #expect(throws: EngineError.self) { _ = try PageMap.decode(damaged, file: path) }
        #expect(throws: EngineError.self) { _ = try PageMap.decode(Array(bytes.dropLast()), file: path) }
    }

    @Test func pageSets() {
        let s = PageSet([5, 1, 64, 65, 200, UInt32(Self.pages)])
        #expect(s.sorted == [1, 5, 64, 65, 200, UInt32(Self.pages)])
        #expect(s.count == 6 && s.contains(64) && !s.contains(63))
        #expect(s.next(from: 66) == 200 && s.next(from: 201) == UInt32(Self.pages) && s.next(from: UInt32(Self.pages) + 1) == nil)
        s.removeAll(above: 64)
        #expect(s.sorted == [1, 5, 64])
        s.insert(70, through: 72)
        #expect(s.sorted == [1, 5, 64, 70, 71, 72] && s.count == 6)
    }
}
