@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Logs written by capture store changes, not whole pages: far smaller than the WAL frames
/// they capture, and every page version reads back the same whether its base comes from the
/// reader's cache or is rebuilt from the records before it.
@Suite struct CompactLogTests {
    @Test func pagesReadBackTheSameWithoutTheCacheAndLogsAreSmall() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(400, seed: 17)
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        let walBytes = FileSystem.fileSize(s.db + "-wal") ?? 0
        _ = try s.p.archiveOnce()
        holder.release()
        let logs = s.p.control.redo.logs
        let stored = logs.map(\.bytes).reduce(0, +)
        #expect(Double(stored) < 0.2 * Double(walBytes), "\(stored) bytes of logs for \(walBytes) bytes of WAL")

        for log in logs {
            let path = s.p.control.redo.archiveDestinations[0] + "/" + log.fileName
            let cached = try Self.pages(path, cacheBytes: PageVersionCache.defaultBytes)
            // 16 pages: almost every base has left the cache and is rebuilt from the file.
            let rebuilt = try Self.pages(path, cacheBytes: 16 * 4096)
            #expect(cached.count == rebuilt.count && zip(cached, rebuilt).allSatisfy { $0 == $1 }, "log \(log.sequence)")
        }
        let out = s.dir.file("r.db")
        _ = try s.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: statements.count, of: statements)))
    }

    /// Each page of each record of a log: its number and a hash of its content.
    static func pages(_ path: String, cacheBytes: Int) throws -> [[UInt64]] {
        let reader = try RedoLogReader(path: path, changeCacheBytes: cacheBytes)
        var all: [[UInt64]] = []
        var current: [UInt64] = []
        while try reader.next(strict: true, pages: { (r: RedoRecord, p: RedoLogReader.Page) throws(EngineError) in
            current.append(UInt64(p.pgno) << 32 ^ Hash.page(p.data, size: Int(reader.header.pageSize), pgno: p.pgno))
        }) != nil {
            all.append(current)
            current = []
        }
        return all
    }
}
