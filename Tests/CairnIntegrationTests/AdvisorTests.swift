@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The recovery advisor on real databases and repositories: a healthy database, the
/// control-file copies, the online log members and the archive destinations.
@Suite struct AdvisorTests {
    /// A healthy database has no failure, and advise reads the database's files once: its
    /// 100-byte header. Every read of the database's files goes through the fault seam; a rule
    /// lets two reads through and fails the rest, so after advise exactly one more succeeds.
    /// Nothing is written either (no failure to record).
    @Test func aHealthyDatabaseHasNoFailureAndOnlyItsHeaderIsRead() throws {
        let f = try AdvisorFixture()
        try f.cycle(20)
        try f.captureRunning()
        let before = f.controlBytes()
        FaultInjector.shared.add(.init(.read, pathContains: f.db, effect: .fail(EIO), after: 2))
        defer { FaultInjector.shared.removeAll(pathContains: f.db) }
        let r = try f.p.advise()
        #expect(r.open.isEmpty, "\(r.open.map(\.failure.summary))")
        #expect(r.worst == nil && r.closed.isEmpty)
        #expect((try? LiveDatabaseProbe.header(f.db)) != nil, "advise read the database's files more than once")
        #expect(throws: EngineError.self) { _ = try LiveDatabaseProbe.header(f.db) }
        #expect(f.controlBytes() == before, "a healthy advise writes nothing")
        #expect(f.p.control.failures == nil)
    }

    /// A copy missing, damaged or stale: found (high), recorded without being rewritten by
    /// advise's own update, left alone by a preview, rewritten by repair, then closed with
    /// what closed it.
    @Test func aMissingDamagedOrStaleControlCopyIsRecordedAsItIsAndRewrittenByRepair() throws {
        let f = try AdvisorFixture()
        try f.captureRunning()
        let copies = f.p.control.controlCopies
        try #require(copies.count == 2)
        let beside = copies[0], inRepo = copies[1]
        FileSystem.removeFile(beside)
        let t0 = Date()
        var r = try f.p.advise(now: t0)
        let missing = try f.only(r, "control-copies")
        #expect(missing.failure.priority == .high && missing.failure.affected == beside && missing.failure.summary.contains("missing"))
        #expect(missing.repair?.automatic?.action == "rewrite control-file copy")
        #expect(missing.repair?.automatic?.description.contains(inRepo) == true)
        #expect(!FileSystem.exists(beside), "advise records the failure without repairing it")
        r = try f.p.advise(now: t0.addingTimeInterval(60))
        #expect(try f.only(r, "control-copies").failure.id == missing.failure.id, "found again: the same failure")
        #expect(f.recorded(missing.failure.id)?.lastSeenAt == t0.addingTimeInterval(60))

        let preview = try f.p.repair(failure: missing.failure.id, preview: true)
        #expect(preview.items.count == 1 && preview.items[0].fixed == nil && preview.items[0].plan.contains(beside))
        #expect(!FileSystem.exists(beside))
        let done = try f.p.repair(failure: missing.failure.id, now: t0.addingTimeInterval(120))
        #expect(done.items.first?.fixed == true, "\(done.items)")
        #expect(FileSystem.exists(beside))
        r = try f.p.advise(now: t0.addingTimeInterval(180))
        #expect(f.open(r, "control-copies").isEmpty)
        let closed = try #require(r.closed.first { $0.id == missing.failure.id })
        #expect(closed.status == .closed && closed.closedAt == t0.addingTimeInterval(120) && closed.detectedAt == t0)
        #expect(closed.closedBy?.hasPrefix("repair (automatic): rewrote control-file copy \(beside)") == true, "\(closed.closedBy ?? "")")

        // Damaged: garbage in the repository's copy.
        try FileSystem.atomicWrite(Array("not a control file".utf8), to: inRepo)
        r = try f.p.advise()
        let damaged = try f.only(r, "control-copies")
        #expect(damaged.failure.affected == inRepo && damaged.failure.summary.contains("damaged"))
        #expect(try FileSystem.readAll(inRepo) == Array("not a control file".utf8))
        #expect(damaged.repair?.automatic?.description.contains(beside) == true)
        #expect(try f.p.repair(failure: damaged.failure.id).items.first?.fixed == true)

        // Stale: an older version of the copy beside the database.
        let old = try FileSystem.readAll(beside)
        try f.p.transact { (c: inout ControlFile) throws(EngineError) in c.nextBackupId += 0 }
        try FileSystem.atomicWrite(old, to: beside)
        r = try f.p.advise()
        let stale = try f.only(r, "control-copies")
        #expect(stale.failure.affected == beside && stale.failure.summary.contains("stale"))
        let all = try f.p.repair()
        #expect(all.items.map(\.failure) == [stale.failure.id] && all.succeeded)
        #expect(ControlCopiesChecker.inspect(copies).isEmpty)
    }

    /// A missing member and a stale one: found (high), rebuilt from the intact member of the
    /// group (byte for byte), and taken off the stale list.
    @Test func aMissingOrStaleOnlineLogMemberIsRebuiltFromAnIntactOne() throws {
        let f = try AdvisorFixture(members: 2)
        try f.cycle(10)
        try f.cycle(10)
        try f.captureRunning()
        let g1 = f.p.control.redo.memberPaths(group: 1), g2 = f.p.control.redo.memberPaths(group: 2)
        #expect(f.p.control.redo.groups.allSatisfy { $0.status == .inactive })
        FileSystem.removeFile(g1[1])
        var r = try f.p.advise()
        let missing = try f.only(r, "online-logs")
        #expect(missing.failure.priority == .high && missing.failure.key == g1[1] && missing.failure.summary.contains("missing"))
        #expect(missing.repair?.automatic?.description.contains(g1[0]) == true)
        let done = try f.p.repair(failure: missing.failure.id)
        #expect(done.items.first?.fixed == true && done.items.first?.result?.contains(g1[1]) == true)
        #expect(try FileSystem.readAll(g1[1]) == (try FileSystem.readAll(g1[0])))

        // A member marked stale (a write to it failed), here also cut short.
        try f.p.transact { (c: inout ControlFile) throws(EngineError) in c.redo.groups[1].staleMembers = [g2[0]] }
        let bytes = try FileSystem.readAll(g2[0])
        try FileSystem.atomicWrite(Array(bytes.prefix(100)), to: g2[0])
        r = try f.p.advise()
        let stale = try f.only(r, "online-logs")
        #expect(stale.failure.key == g2[0] && stale.failure.summary.contains("stale"))
        #expect(try f.p.repair(failure: stale.failure.id).items.first?.fixed == true)
        #expect(try FileSystem.readAll(g2[0]) == bytes)
        #expect(f.p.control.redo.groups[1].staleMembers.isEmpty)
        r = try f.p.advise()
        #expect(r.open.isEmpty, "\(r.open.map(\.failure.summary))")
        #expect(r.closed.map(\.id).sorted() == [missing.failure.id, stale.failure.id])

        // A member of the current (open) log, left open by a capture that ended without
        // closing it: rebuilt only while no capture writes it.
        f.captureStopped()
        let hold = WALHold(f.db)
        f.write(5)
        do {
            let capturer = try Capturer(database: f.p, logger: quietLogger)
            #expect(try capturer.step() == 5)
        }
        hold.release()
        let g = try #require(f.p.control.redo.groups.first { $0.status == .current })
        let current = f.p.control.redo.memberPaths(group: g.number)
        FileSystem.removeFile(current[0])
        try f.captureRunning()
        r = try f.p.advise()
        let open = try f.only(r, "online-logs")
        #expect(open.failure.key == current[0] && open.repair?.automatic == nil)
        #expect(open.repair?.noAutomatic?.contains("cairn switch-log \(f.db)") == true)
        f.captureStopped()
        let rebuilt = try f.p.repair(failure: open.failure.id)
        #expect(rebuilt.items.first?.fixed == true, "\(rebuilt.items)")
        #expect(try FileSystem.readAll(current[0]) == (try FileSystem.readAll(current[1])))
        // Capture carries on from the rebuilt log: everything committed is recoverable.
        let out = f.dir.file("restored.db")
        _ = try f.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(f.db)))
    }

    /// A destination that is a file instead of a directory cannot be written: high, manual
    /// only (repair says so), closed once it is a directory again.
    @Test func anUnreachableArchiveDestinationIsReportedWithManualStepsOnly() throws {
        let f = try AdvisorFixture(destinations: ["d1", "d2"])
        try f.cycle(10)
        try f.captureRunning()
        let d2 = f.dir.file("d2")
        FileSystem.removeTree(d2)
        try FileSystem.atomicWrite(Array("in the way".utf8), to: d2)
        var r = try f.p.advise()
        let dest = try f.only(r, "archive-destinations")
        #expect(dest.failure.priority == .high && dest.failure.affected == d2 && dest.failure.summary.contains("not a directory"))
        #expect(dest.repair?.automatic == nil && dest.repair?.manual.contains { $0.contains("cairn archive \(f.db) --once") } == true)
        let e = expectCairnError { _ = try f.p.repair(failure: dest.failure.id) }
        #expect(e?.description.contains("has no automatic repair") == true && e?.description.contains("writable directory") == true)
        // The copy of the log it held is gone too; another destination still holds it.
        let copy = try f.only(r, "archived-logs")
        #expect(copy.failure.key == "copy:1-1:\(d2)" && copy.failure.priority == .high)

        FileSystem.removeFile(d2)
        try FileSystem.makeDirectories(d2)
        #expect(try f.p.repair(failure: copy.failure.id).items.first?.fixed == true)
        r = try f.p.advise()
        #expect(r.open.isEmpty, "\(r.open.map(\.failure.summary))")
        #expect(r.closed.first { $0.id == copy.failure.id }?.closedBy?.hasPrefix("repair (automatic): copied log sequence 1") == true)
        // Fixed by hand: the repair's own look closed it before repairing anything.
        #expect(r.closed.first { $0.id == dest.failure.id }?.closedBy == "no longer found by repair")
    }

    /// A destination with less room than a log: full (high).
    @Test func aFullArchiveDestinationIsReported() throws {
        let scratch = TempDir()
        let fs = try SmallFileSystem(at: scratch.file("small"), size: "64k")
        defer { withExtendedLifetime(fs) {} }
        let f = try AdvisorFixture(configure: { redo, _ in redo.archiveDestinations = [fs.path] })
        try f.captureRunning()
        let r = try f.p.advise()
        let full = try f.only(r, "archive-destinations")
        #expect(full.failure.key == "full:" + fs.path && full.failure.summary.contains("less than a log"))
        #expect(full.repair?.manual.first?.contains("Free space") == true)
    }
}
