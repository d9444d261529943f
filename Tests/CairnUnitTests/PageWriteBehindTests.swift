@testable import CairnFormats
import Foundation
import CairnTestSupport
import Testing

/// Pages written by a thread of their own: the file ends as the pages were given, in order,
/// a page read while versions of it are in flight is its last version, and a write that fails
/// stops the work with the file's error rather than hanging or losing it.
@Suite struct PageWriteBehindTests {
    static let pageSize = 4096

    /// Fills `p` with a version of page `pgno` that says which write it was.
    static func fill(_ p: UnsafeMutableRawPointer, pgno: UInt32, version: Int) {
        for i in 0..<(pageSize / 8) { p.storeBytes(of: UInt64(pgno) << 40 | UInt64(version) << 8 | UInt64(i & 0xff), toByteOffset: i * 8, as: UInt64.self) }
    }

    @Test func readsAndTheFileSeeTheLastVersionGiven() throws {
        var seed = TestSeed()
        let dir = TempDir()
        let file = try RawFile(path: dir.file("target"), mode: .createNew)
        let writer = PageWriteBehind(file: file, pageSize: Self.pageSize)
        let page = UnsafeMutableRawPointer.allocate(byteCount: Self.pageSize, alignment: 64)
        let read = UnsafeMutableRawPointer.allocate(byteCount: Self.pageSize, alignment: 64)
        defer { page.deallocate(); read.deallocate() }
        var last: [UInt32: Int] = [:]
        // Few pages, many writes: every batch holds several versions of the same pages.
        for version in 1...3000 {
            let pgno = UInt32.random(in: 1...40, using: &seed.rng)
            Self.fill(page, pgno: pgno, version: version)
            try writer.write(pgno, page)
            last[pgno] = version
            if Int.random(in: 0..<10, using: &seed.rng) == 0, let probe = last.keys.randomElement(using: &seed.rng) {
                try writer.settle(probe)
                try file.readPage(probe, pageSize: Self.pageSize, into: read)
                Self.fill(page, pgno: probe, version: last[probe] ?? 0)
                #expect(memcmp(read, page, Self.pageSize) == 0, "page \(probe) read while writes were in flight is not its last version \(last[probe] ?? 0)")
            }
        }
        try writer.finish()
        for (pgno, version) in last {
            try file.readPage(pgno, pageSize: Self.pageSize, into: read)
            Self.fill(page, pgno: pgno, version: version)
            #expect(memcmp(read, page, Self.pageSize) == 0, "page \(pgno) is not its last version \(version)")
        }
    }

    @Test func aFailedWriteIsThrownAndNothingHangs() throws {
        let dir = TempDir()
        let path = dir.file("failing")
        let file = try RawFile(path: path, mode: .createNew)
        FaultInjector.shared.add(.init(.write, pathContains: path, effect: .fail(ENOSPC), after: 300))
        defer { FaultInjector.shared.removeAll(pathContains: path) }
        let writer = PageWriteBehind(file: file, pageSize: Self.pageSize)
        let page = UnsafeMutableRawPointer.allocate(byteCount: Self.pageSize, alignment: 64)
        defer { page.deallocate() }
        var caught: EngineError?
        do throws(EngineError) {
            for n in 1...5000 {
                Self.fill(page, pgno: UInt32(n), version: n)
                try writer.write(UInt32(n), page)
            }
            try writer.finish()
        } catch {
            caught = error
        }
        let e = try #require(caught, "a write failing with ENOSPC went unnoticed")
        #expect(e.description.contains(path), "\(e.description)")
        writer.stop()
    }
}
