@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// `cairn report need-backup` and `cairn report schema`.
@Suite struct ReportTests {
    static func json(_ args: [String]) throws -> (Int32, [String: Any]) {
        let r = Shell.run([Paths.cairn] + args)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        return (r.status, obj)
    }

    @Test func needBackupByRedundancy() throws {
        let s = try RedoTests.Setup()
        // No backup at all: needed, by the default policy (redundancy 1); exit 0 either way.
        var (status, j) = try Self.json(["report", "need-backup", s.db, "--json"])
        #expect(status == 0)
        #expect(j["needed"] as? Bool == true && j["rule"] as? String == "redundancy 1" && j["restorableLevel0"] as? Int == 0)
        try s.p.backup(.quiet())
        (status, j) = try Self.json(["report", "need-backup", s.db, "--json"])
        #expect(status == 0)
        #expect(j["needed"] as? Bool == false && j["restorableLevel0"] as? Int == 1)
        // Redundancy 2: one more level 0 is needed; a level 1 does not count.
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.policy.retention = .redundancy(2) }
        let hold = WALHold(s.db)
        defer { hold.release() }
        Ledger.write(s.db, 5, seed: 30)
        _ = try s.p.archiveOnce()
        try s.p.backup(.quiet { $0.level = 1 })
        var r = s.p.needBackup()
        #expect(r.needed && r.restorableLevel0 == 1 && r.reasons.contains { $0.contains("only 1") })
        try s.p.backup(.quiet())
        r = s.p.needBackup()
        #expect(!r.needed && r.restorableLevel0 == 2)
        // An EXPIRED backup does not count.
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.backups[0].status = .expired }
        #expect(s.p.needBackup().needed)
        let text = Shell.run([Paths.cairn, "report", "need-backup", s.db])
        #expect(text.status == 0 && text.stdout.hasPrefix("backup needed: yes (redundancy 2)"))
    }

    @Test func needBackupByWindowAndByDays() throws {
        let s = try RedoTests.Setup()
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.policy.retention = .window(days: 7) }
        #expect(s.p.needBackup().needed)
        let b = try s.p.backup(.quiet())
        // Registered today: a chain that reaches the present covers the whole window.
        #expect(!s.p.needBackup().needed)
        // Registered long ago: the backup is too young to recover to 7 days ago...
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.createdAt = Date().addingTimeInterval(-30 * 86_400) }
        var r = s.p.needBackup()
        #expect(r.needed && r.rule == "window 7 days")
        // ...until it is older than the window start.
        r = s.p.needBackup(now: Date().addingTimeInterval(8 * 86_400))
        #expect(!r.needed, "\(r.reasons)")

        // --days: the newest backup's age.
        #expect(!s.p.needBackup(days: 1).needed)
        r = s.p.needBackup(days: 1, now: b.startedAt.addingTimeInterval(2 * 86_400))
        #expect(r.needed && r.rule == "days 1" && r.newestBackupId == b.id && (r.newestBackupAgeDays ?? 0) >= 2)
        let (status, j) = try Self.json(["report", "need-backup", s.db, "--days", "3", "--json"])
        #expect(status == 0 && j["needed"] as? Bool == false && j["rule"] as? String == "days 3")
        #expect(Shell.run([Paths.cairn, "report", "need-backup", s.db, "--days", "-1"]).status == 64)
    }

    @Test func aGapAfterTheNewestLevelZeroMakesABackupNeeded() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        // Written and checkpointed while no capture runs: a gap.
        Ledger.write(s.db, 5, seed: 31)
        #expect(Shell.run(["sqlite3", s.db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
        _ = try s.p.archiveOnce()
        #expect(!s.p.control.redo.gaps.isEmpty)
        let r = s.p.needBackup(days: 30)
        #expect(r.needed && r.reasons.contains { $0.contains("never captured") })
        try s.p.backup(.quiet())
        #expect(!s.p.needBackup(days: 30).needed)
    }

    @Test func schemaReportReadsTheLayoutAndWritesNothing() throws {
        let s = try RedoTests.Setup(filler: 4000)
        Shell.run(["sqlite3", s.db, "CREATE INDEX transfers_src ON transfers(src);"])
        let l0 = try s.p.backup(.quiet())
        let hold = WALHold(s.db)
        Ledger.write(s.db, 10, seed: 32)
        _ = try s.p.archiveOnce()
        let l1 = try s.p.backup(.quiet { $0.level = 1 })
        hold.release()
        let before = try Self.fingerprint(s.db)

        let (status, j) = try Self.json(["report", "schema", s.db, "--json"])
        #expect(status == 0)
        #expect(try Self.fingerprint(s.db) == before, "the report must not write to the database")
        let r = try s.p.schemaReport()
        #expect(r.fileBytes == FileSystem.fileSize(s.db))
        let sql = Shell.run(["sqlite3", "-readonly", s.db, "PRAGMA page_size; PRAGMA page_count; PRAGMA freelist_count;"]).stdout.split(separator: "\n").map { UInt64($0) ?? 0 }
        #expect(UInt64(r.pageSize) == sql[0] && r.pageCount == sql[1] && r.freePages == sql[2])
        #expect(j["pageSize"] as? Int == r.pageSize && j["pageCount"] as? Int == Int(r.pageCount))
        let names = Set(r.objects.map(\.name))
        #expect(names.isSuperset(of: ["sqlite_schema", "accounts", "transfers", "transfers_src"]))
        #expect(r.objects.first { $0.name == "transfers_src" }?.type == "index")
        #expect(r.objects.first { $0.name == "transfers_src" }?.table == "transfers")
        if r.pagesAvailable {
            // Every page is in exactly one b-tree or on the freelist.
            #expect(r.objects.compactMap(\.pages).reduce(0, +) + r.freePages == r.pageCount)
            #expect((r.objects.first { $0.name == "transfers" }?.pages ?? 0) > (r.objects.first { $0.name == "accounts" }?.pages ?? 0))
        }
        let b0 = try #require(r.backups.first { $0.id == l0.id })
        let b1 = try #require(r.backups.first { $0.id == l1.id })
        #expect(b0.level == 0 && b0.pagesStored == UInt64(l0.pageCount) && b0.share > 0.9)
        #expect(b1.level == 1 && b1.pagesStored == l1.pagesStored && b1.share < 0.5 && b1.share > 0)
        let rows = try #require(j["backups"] as? [[String: Any]])
        #expect(rows.count == 2)
        for k in ["id", "level", "scn", "pagesStored", "share"] { #expect(rows[0].keys.contains(k), "backup row lacks \(k)") }
        let objects = try #require(j["objects"] as? [[String: Any]])
        for k in ["name", "type", "pages"] { #expect(objects[0].keys.contains(k), "object lacks \(k)") }
        let text = Shell.run([Paths.cairn, "report", "schema", s.db])
        #expect(text.status == 0 && text.stdout.contains("transfers_src (transfers)"))
    }

    /// The database file and its WAL, byte for byte.
    static func fingerprint(_ db: String) throws -> [String] {
        try ["", "-wal"].map { suffix in
            FileSystem.exists(db + suffix) ? Hash.hex(try FileSystem.hashFile(db + suffix)) + " \(FileSystem.fileSize(db + suffix) ?? 0)" : "absent"
        }
    }
}
