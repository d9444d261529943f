@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// A class initializer that throws before every stored property is set does not run `deinit`,
/// so a buffer it allocated earlier is never freed. `RedoLogReader` (1 MiB scratch) and
/// `Capturer` (1 MiB I/O buffer) once leaked that way on every failed open; the fuzzer saw it
/// as resident memory growing by about 4 KiB per damaged redo log (only the page of the
/// allocation that malloc touches becomes resident; the address space grew by 1 MiB).
@Suite struct InitFailureLeakTests {
    /// The process's address-space size (VmSize), in MiB.
    static func addressSpaceMiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }

    /// Runs `attempt` `times` times and returns how much the address space grew, in MiB.
    /// A leak of 1 MiB per attempt grows it by `times` MiB; without a leak it stays put
    /// (other tests running at the same time move it by far less than the margin used).
    static func growth(times: Int, _ attempt: () -> Void) -> Int {
        attempt() // let one-time allocations happen before measuring
        let before = addressSpaceMiB()
        for _ in 0..<times { attempt() }
        return addressSpaceMiB() - before
    }

    @Test func failedRedoLogOpensFreeTheirScratchBuffer() throws {
        let dir = TempDir()
        let short = dir.file("short.clog")
        try Data("not a redo log".utf8).write(to: URL(fileURLWithPath: short))
        let damaged = dir.file("damaged.clog")
        try Data(repeating: 0xA5, count: RedoLogFormat.headerSize).write(to: URL(fileURLWithPath: damaged))
        let n = 2000
        let grew = Self.growth(times: n) {
            for path in [short, damaged, dir.file("missing.clog")] {
                #expect((try? RedoLogReader(path: path)) == nil)
            }
        }
        #expect(grew < n / 2, "address space grew by \(grew) MiB over \(3 * n) failed opens")
    }

    @Test func failedCapturerStartsFreeTheirBuffers() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        let p = try Catalog.initialize(database: db, redo: RedoOptions(), logger: quietLogger)
        try FileManager.default.removeItem(atPath: p.layout.pageMapFile)
        let n = 1000
        let grew = Self.growth(times: n) {
            #expect((try? Capturer(database: p, logger: quietLogger)) == nil)
        }
        #expect(grew < n / 2, "address space grew by \(grew) MiB over \(n) failed capture starts")
    }
}
