@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// Storage faults through the `FaultInjector` seam: errors are clear, nothing is lost or
/// recorded half-done, and work resumes by itself once the fault clears. Every rule is
/// scoped to the test's own directory, so tests running in parallel are not affected.
@Suite struct FaultInjectionTests {
    struct Setup {
        let dir = TempDir()
        let db: String
        let p: Catalog
        var scope: String { dir.path }

        init(name: String = #function, redo: RedoOptions = RedoOptions()) throws {
            db = dir.file("app.db")
            Ledger.create(db, filler: 3000)
            p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        }

        func inject(_ op: FaultInjector.Operation, _ path: String, _ effect: FaultInjector.Effect, after: Int = 0, times: Int? = nil) {
            FaultInjector.shared.add(.init(op, pathContains: path, effect: effect, after: after, times: times))
        }

        func clear() { FaultInjector.shared.removeAll(pathContains: "") }
    }

    @Test func eioWritingAPieceFailsCleanlyAndTheNextBackupWorks() throws {
        let s = try Setup()
        let piece = s.p.layout.backupsDirectory + "/.partial-00000001/piece-0002"
        s.inject(.write, piece, .fail(EIO), times: 1)
        let e = expectCairnError { try s.p.backup(.quiet { $0.maxPieceSize = 64 << 10 }) }
        guard case let .io(_, path, err)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(err == EIO && path.hasSuffix("piece-0002.cbp"))
        #expect(ExitStatus.of(e!) == 6)
        #expect(s.p.control.backups.isEmpty)
        #expect(FileSystem.list(s.p.layout.backupsDirectory).isEmpty)
        let b = try s.p.backup(.quiet { $0.maxPieceSize = 64 << 10 })
        #expect(try s.p.validate(backup: b.id).allSatisfy(\.ok))
    }

    @Test func failedFsyncOfOneControlCopyIsRepairedLater() throws {
        let s = try Setup()
        let beside = s.p.controlCopies[0]
        // The backup's second update (the first takes its id) records it.
        s.inject(.sync, beside, .fail(EIO), after: 1, times: 1)
        try s.p.backup(.quiet())
        // The repository copy took the update; the copy beside the database is one behind.
        let reopened = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(reopened.control.backups.count == 1)
        #expect(reopened.warnings.contains { $0.contains(beside) && $0.contains("stale") })
        #expect(!FileSystem.list(s.dir.path).contains { $0.contains(".tmp-") })
        // Opening wrote nothing; the next update rewrites the stale copy.
        #expect(try FileSystem.readAll(beside) != (try FileSystem.readAll(s.p.controlCopies[1])))
        try reopened.setRetention(.redundancy(2))
        #expect(try FileSystem.readAll(beside) == (try FileSystem.readAll(s.p.controlCopies[1])))
    }

    @Test func everyControlCopyFailingMakesTheUpdateFailAndRecordsNothing() throws {
        let s = try Setup()
        // The backup's second update (the first takes its id) records it.
        for c in s.p.controlCopies { s.inject(.sync, c, .fail(EIO), after: 1, times: 1) }
        // The backup's files are written, but it cannot be recorded: it is removed again.
        let e = expectCairnError { try s.p.backup(.quiet()) }
        #expect(e?.description.contains("fsync") == true)
        let reopened = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(reopened.control.backups.isEmpty)
        #expect(FileSystem.list(s.p.layout.backupsDirectory).isEmpty)
        // Once the fault is gone the next backup works; ids are never given out twice.
        #expect(try reopened.backup(.quiet()).id == 2)
    }

    @Test func shortWritesEverywhereStillGiveAnExactRestore() throws {
        let s = try Setup()
        s.inject(.write, s.scope, .shortWrite, times: 500)
        let hold = WALHold(s.db)
        try s.p.backup(.quiet { $0.maxPieceSize = 128 << 10; $0.compressionLevel = nil })
        Ledger.write(s.db, 30)
        _ = try s.p.archiveOnce()
        hold.release()
        let out = s.dir.file("r.db")
        _ = try s.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }

    @Test func unreachableArchiveDestinationIsRetriedUntilItWorks() throws {
        let s = try Setup()
        let hold = WALHold(s.db)
        defer { hold.release() }
        try s.p.backup(.quiet())
        Ledger.write(s.db, 20)
        s.inject(.any, s.p.layout.archiveDirectory, .fail(EIO), times: 3)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        try capturer.step()
        try capturer.switchLog()
        let archiver = Archiver(database: s.p, logger: quietLogger)
        var rounds = 0
        while s.p.control.redo.archivedScn < 20 && rounds < 10 {
            archiver.archivePending(force: true)
            rounds += 1
        }
        #expect(rounds >= 2, "the first attempts must have failed")
        let log = try #require(s.p.control.redo.logs.first)
        #expect(log.status == .archived && log.destinations[0].attempts >= 2)
        #expect(s.p.control.redo.archivedScn == 20)
    }

    @Test func readErrorDuringRestoreNamesThePieceAndHandsOutNothing() throws {
        let s = try Setup()
        let b = try s.p.backup(.quiet { $0.maxPieceSize = 64 << 10 })
        // This backup's piece only (tests run in parallel; the injector is process-wide).
        s.inject(.read, s.p.layout.root + "/" + b.directory + "/piece-0002.cbp", .fail(EIO), times: 1)
        let out = s.dir.file("r.db")
        let e = expectCairnError { try s.p.restore(to: out, backup: b.id) }
        #expect(e?.description.contains("piece-0002.cbp") == true)
        #expect(!FileSystem.exists(out))
        try s.p.restore(to: out, backup: b.id)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }

    @Test func failingOnlineLogMemberGoesStaleAndSlowSyncsOnlyDelay() throws {
        var redo = RedoOptions()
        let dirs = TempDir()
        redo.memberDirectories = [dirs.file("a"), dirs.file("b")]
        let s = try Setup(redo: redo)
        try s.p.backup(.quiet())
        let hold = WALHold(s.db)
        defer { hold.release() }
        s.inject(.write, dirs.file("b"), .fail(EIO))
        s.inject(.sync, dirs.file("a"), .delay(milliseconds: 30), times: 3)
        defer { FaultInjector.shared.removeAll(pathContains: dirs.file("b")) }
        Ledger.write(s.db, 25)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        #expect(try capturer.step() == 25)
        try capturer.switchLog()
        #expect(s.p.control.redo.groups[0].staleMembers == [dirs.file("b") + "/redo-g1.log"])
        Archiver(database: s.p, logger: quietLogger).archivePending(force: true)
        let out = s.dir.file("r.db")
        _ = try s.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }

    @Test func faultSpecificationsFromTheEnvironmentParse() {
        let r = FaultInjector.parse("write:/repo/:ENOSPC:after=2:times=3")
        #expect(r?.operation == .write && r?.pathContains == "/repo/" && r?.effect == .fail(ENOSPC) && r?.after == 2 && r?.times == 3)
        #expect(FaultInjector.parse("sync:x:delay=40")?.effect == .delay(milliseconds: 40))
        #expect(FaultInjector.parse("bogus:x:EIO") == nil)
        #expect(FaultInjector.parse("write:x:ENOTHING") == nil)
    }
}
