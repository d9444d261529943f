@testable import CairnFormats
import Foundation
import CairnTestSupport
import Testing

/// Compact transaction records: pages stored as changes against their previous version in
/// the same log come back exactly, from the cache or rebuilt from the records that hold
/// them, and a damaged record is an error, never a wrong page.
@Suite struct PageChangeTests {
    static let pageSize = 4096

    /// A log in memory: the body of each record, by offset.
    final class Log {
        struct Body {
            let offset: UInt64
            let pages: Int
            var bytes: [UInt8]
        }
        var bodies: [Body] = []
        var next: UInt64 = 64
        /// The hash of each page's newest version (what a page map would hold).
        var hashes: [UInt32: UInt64] = [:]
        /// The pages as they were before the first record (a database the writer may read).
        var start: [UInt32: [UInt8]] = [:]
        let page = UnsafeMutableRawPointer.allocate(byteCount: PageChangeTests.pageSize, alignment: 8)
        let base = UnsafeMutableRawPointer.allocate(byteCount: PageChangeTests.pageSize, alignment: 8)

        deinit {
            page.deallocate()
            base.deallocate()
        }

        /// Writes a record; with `useState` the writer may take a page's version before the
        /// log from `start` (a change from the state), else only from what it wrote.
        func write(_ pages: [(UInt32, [UInt8])], encoder: PageChangeEncoder, useState: Bool = false) throws(EngineError) {
            var out: [UInt8] = []
            encoder.begin(recordOffset: next)
            let emit: PageChangeEncoder.Emit = { (p: UnsafeRawPointer, n: Int) throws(EngineError) in
                out.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
            }
            for (pgno, bytes) in pages {
                page.copyMemory(from: bytes, byteCount: PageChangeTests.pageSize)
                let hash = Hash.page(page, size: PageChangeTests.pageSize, pgno: pgno)
                let previous = hashes[pgno]
                let stateBase: () -> UnsafeRawPointer? = {
                    guard useState, let s = self.start[pgno], Hash.page(s, size: PageChangeTests.pageSize, pgno: pgno) == previous else { return nil }
                    self.base.copyMemory(from: s, byteCount: PageChangeTests.pageSize)
                    return UnsafeRawPointer(self.base)
                }
                try encoder.add(pgno: pgno, page: page, hash: hash, previous: previous, stateBase: stateBase, emit: emit)
                hashes[pgno] = hash
            }
            try encoder.finish(emit: emit)
            bodies.append(Body(offset: next, pages: pages.count, bytes: out))
            next += UInt64(80 + out.count)
        }

        /// Every page of every record, decoded from the log alone by a decoder whose cache
        /// holds `cacheBytes`, or (`applying`) applied in order to a database at the start state.
        func read(cacheBytes: Int, applying: Bool = false) throws(EngineError) -> [[(UInt32, [UInt8])]] {
            let d = PageChangeDecoder(pageSize: PageChangeTests.pageSize, cacheBytes: cacheBytes)
            var database = start
            var all: [[(UInt32, [UInt8])]] = []
            for b in bodies {
                var got: [(UInt32, [UInt8])] = []
                let body = Self.copy(b.bytes)
                defer { body.deallocate() }
                let base: PageChangeDecoder.Base = applying
                    ? .target({ (pgno: UInt32, out: UnsafeMutableRawPointer) throws(EngineError) in
                        let p = database[pgno] ?? [UInt8](repeating: 0, count: PageChangeTests.pageSize)
                        out.copyMemory(from: p, byteCount: PageChangeTests.pageSize)
                    })
                    : .log({ (pgno: UInt32, at: UInt64, out: UnsafeMutableRawPointer) throws(EngineError) in
                        try self.rebuild(pgno, at: at, into: out, decoder: d)
                    })
                try d.decode(body: body, count: b.bytes.count, pages: b.pages, recordOffset: b.offset, file: "test", base: base,
                             page: { (pgno: UInt32, data: UnsafeRawPointer, _: UInt64) throws(EngineError) in
                                 got.append((pgno, Array(UnsafeRawBufferPointer(start: data, count: PageChangeTests.pageSize))))
                             })
                for (pgno, bytes) in got { database[pgno] = bytes }
                all.append(got)
            }
            return all
        }

        static func copy(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            p.copyMemory(from: bytes, byteCount: bytes.count)
            return p
        }

        func rebuild(_ pgno: UInt32, at offset: UInt64, into out: UnsafeMutableRawPointer, decoder d: PageChangeDecoder) throws(EngineError) {
            guard let b = bodies.first(where: { $0.offset == offset }) else { throw .corrupt(file: "test", offset: offset, detail: "no record") }
            let body = Self.copy(b.bytes)
            defer { body.deallocate() }
            guard let e = try d.stored(pgno: pgno, body: body, count: b.bytes.count, pages: b.pages, recordOffset: offset, file: "test", into: out) else {
                throw .corrupt(file: "test", offset: offset, detail: "page not in record")
            }
            if e.kind == .changeFromState { throw PageChangeDecoder.needsState(pgno, recordOffset: offset, file: "test") }
            if e.kind == .change {
                let base = UnsafeMutableRawPointer.allocate(byteCount: PageChangeTests.pageSize, alignment: 8)
                defer { base.deallocate() }
                try rebuild(pgno, at: e.base, into: base, decoder: d)
                PageChangeFormat.apply(base, to: out, count: PageChangeTests.pageSize)
            }
        }
    }

    /// A history of `records` transactions over `hot` pages: each changes a few bytes of a
    /// few pages, sometimes rewrites one entirely.
    static func history(records: Int, hot: Int, seed: UInt64, rewrites: Bool = true) -> [[(UInt32, [UInt8])]] {
        historyFromStart(records: records, hot: hot, seed: seed, rewrites: rewrites).records
    }

    static func historyFromStart(records: Int, hot: Int, seed: UInt64, rewrites: Bool) -> (start: [UInt32: [UInt8]], records: [[(UInt32, [UInt8])]]) {
        var rng = SeededGenerator(seed: seed)
        // Random pages where they are rewritten, else pages that compress as database pages do.
        var pages = (0..<hot).map { h in (0..<pageSize).map { i in rewrites ? UInt8.random(in: 0...255, using: &rng) : UInt8(truncatingIfNeeded: (i / 7) &* 31 &+ h) } }
        let start = Dictionary(uniqueKeysWithValues: pages.enumerated().map { (UInt32($0.offset + 1), $0.element) })
        let records = (0..<records).map { _ in
            let touched = Set((0..<Int.random(in: 1...4, using: &rng)).map { _ in Int.random(in: 0..<hot, using: &rng) }).sorted()
            return touched.map { i in
                if rewrites && Int.random(in: 0..<20, using: &rng) == 0 {
                    pages[i] = (0..<pageSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
                } else {
                    for _ in 0..<Int.random(in: 1...40, using: &rng) { pages[i][Int.random(in: 0..<pageSize, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                }
                return (UInt32(i + 1), pages[i])
            }
        }
        return (start, records)
    }

    static func same(_ a: [[(UInt32, [UInt8])]], _ b: [[(UInt32, [UInt8])]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 } }
    }

    @Test(arguments: [1 << 20, 16 * 4096])
    func everyVersionComesBackExactly(readerCache: Int) throws {
        let seed = TestSeed()
        let h = Self.history(records: 400, hot: 40, seed: seed.value)
        let log = Log()
        let encoder = PageChangeEncoder(pageSize: Self.pageSize)
        for r in h { try log.write(r, encoder: encoder) }
        #expect(encoder.changedPages > encoder.wholePages * 5, "whole \(encoder.wholePages), changes \(encoder.changedPages)")
        // A reader whose cache is smaller than the writer's rebuilds bases from the records.
        #expect(Self.same(try log.read(cacheBytes: readerCache), h))
    }

    @Test func aSmallChangeCostsFarLessThanAPage() throws {
        let h = Self.history(records: 200, hot: 4, seed: 7, rewrites: false)
        let log = Log()
        let encoder = PageChangeEncoder(pageSize: Self.pageSize)
        for r in h { try log.write(r, encoder: encoder) }
        let stored = log.bodies.dropFirst(10).map(\.bytes.count).reduce(0, +)
        let raw = h.dropFirst(10).map { $0.count * Self.pageSize }.reduce(0, +)
        #expect(Double(stored) < 0.05 * Double(raw), "stored \(stored) of \(raw) page bytes")
    }

    @Test func changesInARowEndInAWholePage() throws {
        let log = Log()
        let encoder = PageChangeEncoder(pageSize: Self.pageSize)
        var page = [UInt8](repeating: 7, count: Self.pageSize)
        for i in 0..<(PageChangeFormat.maxChangeDepth + 3) {
            page[i] = 9
            try log.write([(5, page)], encoder: encoder)
        }
        #expect(encoder.wholePages == 2 && encoder.changedPages == PageChangeFormat.maxChangeDepth + 1)
    }

    @Test func aDamagedBodyNeverCrashesTheDecoder() throws {
        let h = Self.history(records: 30, hot: 8, seed: 11)
        let log = Log()
        let encoder = PageChangeEncoder(pageSize: Self.pageSize)
        for r in h { try log.write(r, encoder: encoder) }
        var rng = SeededGenerator(seed: 3)
        var errors = 0
        for _ in 0..<200 {
            let damaged = Log()
            damaged.bodies = log.bodies
            let r = Int.random(in: 0..<damaged.bodies.count, using: &rng)
            let at = Int.random(in: 0..<damaged.bodies[r].bytes.count, using: &rng)
            damaged.bodies[r].bytes[at] ^= UInt8.random(in: 1...255, using: &rng)
            // Checksums catch damage before decoding in a real log; here the decoder alone
            // must either fail or, where the damage fell in a payload zstd does not check,
            // differ from the truth (what the record checksum is there to catch).
            do {
                _ = try damaged.read(cacheBytes: 1 << 20)
            } catch {
                errors += 1
            }
        }
        #expect(errors > 0)
    }

    /// A page first written in a log is a change from the database as it was before the log
    /// (when the writer can read that version): recovery, applying the records in order to
    /// that state, rebuilds every page; the log read alone says it cannot, never a wrong page.
    @Test func changesFromTheStateRebuildOnTheStateOnly() throws {
        let seed = TestSeed()
        let h = Self.historyFromStart(records: 300, hot: 30, seed: seed.value, rewrites: false)
        let log = Log()
        log.start = h.start
        for (pgno, page) in h.start { log.hashes[pgno] = page.withUnsafeBytes { Hash.page($0.baseAddress!, size: Self.pageSize, pgno: pgno) } }
        let encoder = PageChangeEncoder(pageSize: Self.pageSize)
        for r in h.records { try log.write(r, encoder: encoder, useState: true) }
        #expect(encoder.changedFromStatePages == 30 && encoder.wholePages == 0,
                "whole \(encoder.wholePages), from state \(encoder.changedFromStatePages), changes \(encoder.changedPages)")
        #expect(Self.same(try log.read(cacheBytes: 1 << 20, applying: true), h.records))
        do {
            _ = try log.read(cacheBytes: 1 << 20)
            Issue.record("a change from the state was rebuilt from the log alone")
        } catch {
            #expect(error.description.contains("change from the database as it was before this log"), "\(error.description)")
        }
    }
}
