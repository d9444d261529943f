@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The periodic integrity check on real backups: the backup taken on a set's check day checks
/// it (once that day), a damaged set is found and recorded as failed, `--pdic-restore` restores
/// the set and has SQLite check it, and `report pdic` lists the schedule. "Now" is fixed
/// through the library.
@Suite struct IntegrityCheckTests {
    static func date(_ text: String, _ zone: String = "UTC") -> Date { WallClock.at(text, zone) }

    func backup(_ s: RedoTests.Setup, at now: Date, restoring: Bool = false) throws -> BackupRecord {
        var o = BackupOptions()
        o.integrityCheckAt = now
        o.integrityCheckRestores = restoring
        return try s.p.backup(o)
    }

    @Test func theBackupOnASetsCheckDayChecksItOnceThatDay() throws {
        let s = try RedoTests.Setup()
        try s.p.setIntegrityCheckTimeZone("UTC")
        let first = try s.p.backup()
        // The check day of `first`: the weekday its id mod 5 names, in the week after it was taken.
        let day = IntegrityCheckSchedule.checkDay(of: first.id)
        let monday = Self.date("2026-11-30T08:00:00")
        let checkDay = monday.addingTimeInterval(Double(day.rawValue - 2) * 86_400)
        let second = try backup(s, at: checkDay)
        let checked = try #require(s.p.control.backups.first { $0.id == first.id }?.integrityCheck)
        #expect(checked.ok && !checked.restored && checked.checkedAt == checkDay)
        #expect(s.p.control.backups.first { $0.id == second.id }?.integrityCheck == nil, "the new set was verified as it was written")
        // A second backup that day does not check it again.
        _ = try backup(s, at: checkDay.addingTimeInterval(3600))
        #expect(s.p.control.backups.first { $0.id == first.id }?.integrityCheck?.checkedAt == checkDay)
        let row = try #require(s.p.integrityCheckReport(now: checkDay.addingTimeInterval(7200)).first { $0.id == first.id })
        #expect(row.weekday == day.name && row.result == "ok" && row.lastCheckedAt == checkDay)
        #expect(row.nextDue == checkDay.addingTimeInterval(7 * 86_400 - 8 * 3600), "the start of the same weekday a week later")
    }

    @Test func aDamagedSetIsFoundAndRecordedAsFailed() throws {
        let s = try RedoTests.Setup()
        try s.p.setIntegrityCheckTimeZone("UTC")
        let first = try s.p.backup()
        let dir = s.p.backupDirectory(first)
        let piece = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".piece") || $0.hasPrefix("piece") }.sorted().first,
                                 "a piece file in \(dir)")
        let path = dir + "/" + piece
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let fd = open(path, O_WRONLY)
        var junk = [UInt8](repeating: 0xA5, count: 64)
        #expect(pwrite(fd, &junk, junk.count, off_t(size / 2)) == junk.count)
        close(fd)
        // Eight days later any backup checks it (the 7-day rule), whatever the weekday.
        _ = try backup(s, at: first.completedAt.addingTimeInterval(8 * 86_400))
        let outcome = try #require(s.p.control.backups.first { $0.id == first.id }?.integrityCheck)
        #expect(!outcome.ok && outcome.problem?.isEmpty == false, "\(outcome)")
        let row = try #require(s.p.integrityCheckReport().first { $0.id == first.id })
        #expect(row.result.hasPrefix("failed: "))
    }

    @Test func pdicRestoreRestoresTheSetAndHasSQLiteCheckIt() throws {
        let s = try RedoTests.Setup()
        let first = try s.p.backup()
        _ = try backup(s, at: first.completedAt.addingTimeInterval(8 * 86_400), restoring: true)
        let outcome = try #require(s.p.control.backups.first { $0.id == first.id }?.integrityCheck)
        #expect(outcome.ok && outcome.restored)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.p.layout.root).filter { $0.hasPrefix("tmp-pdic") }
        #expect(leftovers.isEmpty, "scratch files left: \(leftovers)")
    }

    @Test func anUnknownTimeZoneIsRefused() throws {
        let s = try RedoTests.Setup()
        #expect(throws: EngineError.self) { try s.p.setIntegrityCheckTimeZone("Mars/Olympus") }
        try s.p.setIntegrityCheckTimeZone("Asia/Tokyo")
        #expect(s.p.integrityCheckSchedule.timeZone.identifier == "Asia/Tokyo")
    }

    /// Archived-log backup sets are on the same schedule: their stored logs are read and
    /// checked (there is nothing to restore), and a damaged one is recorded as failed.
    @Test func archivedLogSetsAreCheckedOnTheSameSchedule() throws {
        let s = try RedoTests.Setup()
        try s.p.setIntegrityCheckTimeZone("UTC")
        _ = try s.p.backup()
        Ledger.write(s.db, 20)
        _ = try s.p.archiveOnce()
        let set = try #require(try s.p.backupArchivedLogs().backup)
        let later = set.completedAt.addingTimeInterval(8 * 86_400)
        _ = try backup(s, at: later)
        let checked = try #require(s.p.control.backups.first { $0.id == set.id }?.integrityCheck)
        #expect(checked.ok && !checked.restored && checked.checkedAt == later, "\(checked)")
        #expect(s.p.integrityCheckReport(now: later).contains { $0.id == set.id && $0.result == "ok" })

        let dir = s.p.backupDirectory(set)
        let stored = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "manifest.json" }.sorted().first)
        let fd = open(dir + "/" + stored, O_RDWR)
        PageDamage.scramble(fd, at: 40, count: 16)
        close(fd)
        let again = later.addingTimeInterval(8 * 86_400)
        _ = try backup(s, at: again)
        let failed = try #require(s.p.control.backups.first { $0.id == set.id }?.integrityCheck)
        #expect(!failed.ok && failed.checkedAt == again && failed.problem?.isEmpty == false, "\(failed)")
    }
}

/// `cairn report pdic` and `cairn configure DB pdic-time-zone` as a user runs them.
@Suite struct IntegrityCheckCLITests {
    @Test func theReportListsEverySetAndTheTimeZoneCanBeSet() throws {
        let s = try RedoTests.Setup()
        #expect(Shell.run([Paths.cairn, "backup", s.db]).status == 0)
        #expect(Shell.run([Paths.cairn, "configure", s.db, "pdic-time-zone", "Europe/Berlin"]).status == 0)
        let bad = Shell.run([Paths.cairn, "configure", s.db, "pdic-time-zone", "Nowhere/Else"])
        #expect(bad.status != 0 && bad.stderr.contains("Nowhere/Else") && bad.stderr.contains("IANA"), "\(bad.stderr)")
        let r = Shell.run([Paths.cairn, "report", "pdic", s.db, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["result"] as? String == "never checked")
        #expect((rows.first?["weekday"] as? String).map(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"].contains) == true)
        let text = Shell.run([Paths.cairn, "report", "pdic", s.db])
        #expect(text.status == 0 && text.stdout.contains("Europe/Berlin") && text.stdout.contains("never"), "\(text.stdout)")
    }
}
