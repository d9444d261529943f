@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The recovery advisor on what recovery depends on: archived logs, gaps, backups and the
/// recovery area.
@Suite struct AdvisorRecoverabilityTests {
    /// A log missing from every place it was kept, after the newest backup: critical; the
    /// repair is a level-0 backup (naming the next backup id), after which complete recovery
    /// no longer needs the log. Likewise a hole in the recorded sequences.
    @Test func aLogMissingEverywhereOrAHoleInTheSequenceIsCriticalAndALevel0BackupRepairsIt() throws {
        let f = try AdvisorFixture()
        for _ in 0..<3 { try f.cycle(10) }
        try f.captureRunning()
        let c = f.p.control
        let victim = try #require(c.redo.logs.first { $0.sequence == 2 })
        FileSystem.removeFile(f.p.layout.archiveDirectory + "/" + victim.fileName)
        for m in c.redo.memberPaths(group: victim.group) { FileSystem.removeFile(m) }
        var r = try f.p.advise()
        let lost = try f.only(r, "archived-logs")
        #expect(lost.failure.key == "log:1-2:complete" && lost.failure.priority == .critical)
        #expect(lost.failure.summary.contains("SCN 11–20") && lost.failure.summary.contains("missing"))
        let auto = try #require(lost.repair?.automatic)
        #expect(auto.action == "level-0 backup" && auto.description.contains("next id is \(c.nextBackupId)"))
        let online = try f.only(r, "online-logs")
        #expect(online.failure.summary.contains("no intact member"))

        let done = try f.p.repair(failure: lost.failure.id)
        #expect(done.items.first?.fixed == true && done.items.first?.result?.contains("level-0 backup \(c.nextBackupId)") == true)
        r = try f.p.advise()
        #expect(f.open(r, "archived-logs").isEmpty)
        #expect(r.closed.first { $0.id == lost.failure.id }?.closedBy?.hasPrefix("repair (automatic): level-0 backup") == true)

        // A hole: sequence 5 of 4…6 is no longer recorded.
        f.captureStopped()
        for _ in 0..<3 { try f.cycle(10) }
        try f.captureRunning()
        try f.p.transact { (c: inout ControlFile) throws(EngineError) in c.redo.logs.removeAll { $0.sequence == 5 } }
        r = try f.p.advise()
        let hole = try f.only(r, "archived-logs")
        #expect(hole.failure.key == "hole:1-5-5:complete" && hole.failure.priority == .critical)
        #expect(hole.failure.summary.contains("sequence 5 of incarnation 1"))
        #expect(try f.p.repair(failure: hole.failure.id).items.first?.fixed == true)
    }

    /// A copy gone from one destination while another holds the log: high; repaired by
    /// copying it from the other destination (verified), and recorded ARCHIVED again.
    @Test func aCopyMissingOrCutShortAtOneDestinationIsCopiedFromAnother() throws {
        let f = try AdvisorFixture(destinations: ["d1", "d2"])
        try f.cycle(10)
        try f.captureRunning()
        let log = try #require(f.p.control.redo.logs.first)
        let d1 = f.dir.file("d1"), d2 = f.dir.file("d2")
        let good = try FileSystem.readAll(d2 + "/" + log.fileName)
        try FileSystem.atomicWrite(Array(good.prefix(good.count / 2)), to: d1 + "/" + log.fileName)
        var r = try f.p.advise()
        let cut = try f.only(r, "archived-logs")
        #expect(cut.failure.key == "copy:1-1:\(d1)" && cut.failure.priority == .high && cut.failure.summary.contains("damaged"))
        #expect(cut.repair?.automatic?.description.contains(d2) == true)
        let before = f.controlBytes()
        _ = try f.p.repair(preview: true)
        let afterPreview = try FileSystem.readAll(d1 + "/" + log.fileName)
        #expect(f.controlBytes() == before && afterPreview != good, "a preview changes nothing")
        let done = try f.p.repair()
        #expect(done.items.map(\.failure) == [cut.failure.id] && done.succeeded, "\(done.items)")
        #expect(try FileSystem.readAll(d1 + "/" + log.fileName) == good)
        #expect(f.p.control.redo.logs[0].destinations.allSatisfy { $0.state == .archived })
        r = try f.p.advise()
        #expect(r.open.isEmpty, "\(r.open.map(\.failure.summary))")
    }

    /// A gap after the newest level 0: critical, repaired by a level-0 backup; with redundancy
    /// 2 the gap then lies before the newest level 0 but in the window: a low failure opens.
    @Test func aGapAfterTheNewestLevel0IsCriticalAndBeforeItLow() throws {
        let f = try AdvisorFixture()
        try f.cycle(5)
        // Written and checkpointed with no capture running (sqlite3 deletes the WAL on exit).
        f.write(5)
        _ = try f.p.archiveOnce()
        try f.cycle(5)
        try f.p.setRetention(.redundancy(2))
        try f.captureRunning()
        var r = try f.p.advise()
        let gap = try f.only(r, "gaps")
        #expect(gap.failure.key == "1:6:after-level0" && gap.failure.priority == .critical && gap.failure.summary.contains("SCN 6"))
        #expect(gap.repair?.automatic?.action == "level-0 backup")
        let done = try f.p.repair(failure: gap.failure.id)
        #expect(done.items.first?.fixed == true)
        r = try f.p.advise()
        let low = try f.only(r, "gaps")
        #expect(low.failure.key == "1:6:before-level0" && low.failure.priority == .low && low.failure.id != gap.failure.id)
        #expect(low.repair?.automatic == nil)
        #expect(r.worst == .low)
    }

    /// Repairing everything: one level-0 backup serves every failure that asks for one (a gap,
    /// a failed integrity check), the repairs run critical first, and the failure the backup
    /// fixed along the way is closed saying so.
    @Test func oneLevel0BackupRepairsEveryFailureThatAsksForOne() throws {
        let f = try AdvisorFixture()
        try f.cycle(5)
        f.write(5)
        _ = try f.p.archiveOnce()
        try f.p.transact { (c: inout ControlFile) throws(EngineError) in
            c.backups[0].integrityCheck = IntegrityCheckOutcome(checkedAt: Date(), ok: false, restored: false, problem: "piece 1 is damaged")
        }
        try f.captureRunning()
        let r = try f.p.advise()
        let gap = try f.only(r, "gaps"), failed = try f.only(r, "backups")
        #expect(gap.failure.priority == .critical && failed.failure.priority == .high)
        let preview = try f.p.repair(preview: true)
        #expect(preview.items.map(\.failure) == [gap.failure.id, failed.failure.id] && preview.items.allSatisfy { $0.action == "level-0 backup" })
        let backups = f.p.control.backups.count
        let done = try f.p.repair()
        #expect(done.items.map(\.failure) == [gap.failure.id] && done.items[0].alsoClosed == [failed.failure.id], "\(done.items)")
        #expect(f.p.control.backups.count == backups + 1)
        #expect(f.recorded(failed.failure.id)?.closedBy?.hasPrefix("no longer found after the repair of failure \(gap.failure.id) (level-0 backup") == true)
        #expect(try f.p.advise().open.isEmpty)
    }

    /// No backup: high, repaired by a level-0 backup. A set that failed its periodic check with
    /// no newer level 0: high, same repair. An EXPIRED backup: low, manual only.
    @Test func noBackupAFailedIntegrityCheckAndAnExpiredBackup() throws {
        let f = try AdvisorFixture(backup: false)
        try f.captureRunning()
        var r = try f.p.advise()
        let none = try f.only(r, "backups")
        #expect(none.failure.key == "none" && none.failure.priority == .high)
        #expect(try f.p.repair(failure: none.failure.id).items.first?.fixed == true)
        #expect(f.p.control.backups.count == 1)

        let first = try #require(f.p.control.backups.first)
        try f.p.transact { (c: inout ControlFile) throws(EngineError) in
            c.backups[0].integrityCheck = IntegrityCheckOutcome(checkedAt: Date(), ok: false, restored: false, problem: "piece 1 is damaged")
        }
        r = try f.p.advise()
        let failed = try f.only(r, "backups")
        #expect(failed.failure.key == "pdic:\(first.id)" && failed.failure.priority == .high && failed.failure.summary.contains("piece 1 is damaged"))
        #expect(try f.p.repair(failure: failed.failure.id).items.first?.fixed == true)

        // The newest backup's files are gone; a crosscheck marks it EXPIRED.
        let newest = try #require(f.p.control.backups.max { $0.id < $1.id })
        FileSystem.removeTree(f.p.layout.backupDirectory(newest.id))
        _ = try f.p.crosscheck()
        r = try f.p.advise()
        let expired = try #require(f.open(r, "backups").first { $0.failure.key == "expired:\(newest.id)" })
        #expect(expired.failure.priority == .low && expired.repair?.automatic == nil)
        #expect(expired.repair?.manual.contains { $0.contains("cairn delete expired \(f.db)") } == true)
        let e = expectCairnError { _ = try f.p.repair(failure: expired.failure.id) }
        #expect(e?.description.contains("cairn delete expired") == true)
        _ = try f.p.deleteExpired()
        r = try f.p.advise()
        #expect(r.closed.first { $0.id == expired.failure.id }?.closedBy == "no longer found by advise")
    }

    /// The recovery area at 95 % of its limit: high, repaired by deleting what retention no
    /// longer needs (named); over its limit with nothing obsolete: critical, manual only.
    @Test func aFullRecoveryAreaIsRepairedByDeletingWhatIsObsolete() throws {
        let f = try AdvisorFixture(filler: 3000)
        try f.cycle(2)
        try f.p.backup(.quiet())
        try f.captureRunning()
        let used = f.p.spaceReport().used, obsolete = f.p.obsolete()
        #expect(obsolete.backups.map(\.id) == [1])
        let limit = used * 100 / 95
        try #require(Double(used - obsolete.bytes) < Double(limit) * 0.85, "the obsolete files are too small a share for this test")
        try f.p.setRecoveryAreaLimit(limit)
        var r = try f.p.advise()
        let area = try f.only(r, "recovery-area")
        #expect(area.failure.priority == .high && area.failure.summary.contains("95 %"))
        let auto = try #require(area.repair?.automatic)
        #expect(auto.action == "delete obsolete" && auto.description.contains("backup(s) 1"))
        #expect(try f.p.repair(failure: area.failure.id).items.first?.fixed == true)
        #expect(!f.p.control.backups.contains { $0.id == 1 })

        try f.p.setRecoveryAreaLimit(f.p.spaceReport().used / 2)
        r = try f.p.advise()
        let over = try f.only(r, "recovery-area")
        #expect(over.failure.priority == .critical && over.failure.id != area.failure.id)
        #expect(over.repair?.automatic == nil && over.repair?.noAutomatic?.contains("nothing is obsolete") == true)
    }
}
