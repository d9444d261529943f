@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// The recovery area (the repository) under a size limit: reclaiming, warnings, stalls.
@Suite struct RecoveryAreaTests {
    @Test func spaceIsMeasuredByCategory() throws {
        var w = Workload(try RedoTests.Setup(filler: 300))
        let p = w.s.p
        try w.cycle(20)
        try p.backup(.quiet())
        let r = p.spaceReport()
        #expect(r.limit == nil && r.percent == nil && r.warning == nil)
        #expect(r.categories.backups > 0 && r.categories.archivedLogs > 0 && r.categories.onlineLogs > 0 && r.categories.other > 0)
        #expect(r.categories.logBackups == 0)
        var total: UInt64 = 0
        RecoveryArea.walk(p.layout.root) { _, n in total += n }
        #expect(r.used == total && r.categories.total == total)
        let archived = FileSystem.list(p.layout.archiveDirectory).reduce(UInt64(0)) { $0 + (FileSystem.fileSize(p.layout.archiveDirectory + "/" + $1) ?? 0) }
        #expect(r.categories.archivedLogs == archived)
    }

    @Test func obsoleteFilesAreDeletedWhenRoomIsNeededAndAWarningComesAt85Percent() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(40)
        let b1 = try p.backup(.quiet())
        try p.setRetention(.redundancy(1))
        let limit = p.spaceReport().used * 3
        try p.setRecoveryAreaLimit(limit)
        for _ in 0..<6 {
            try w.cycle(40)
            try p.backup(.quiet())
        }
        let c = p.control
        #expect(!c.backups.contains { $0.id == b1.id }, "the oldest backup was deleted to make room")
        // Reclaiming deletes only as much as is needed: recent obsolete backups stay while they
        // fit (how many fit depends on how the logs of each cycle fell, so no exact count).
        #expect(c.backups.count >= 2 && c.backups.count < 7, "\(c.backups.map(\.id))")
        #expect(!c.redo.logs.contains { $0.sequence == 1 })
        #expect(!FileSystem.exists(p.layout.backupDirectory(b1.id)))
        #expect(p.spaceReport().used <= limit)
        #expect(try w.restored(.complete, "latest.db").digest == (try w.sourceDigest))

        // The warning: at 85 % of the limit and above, not below.
        let used = p.spaceReport().used
        try p.setRecoveryAreaLimit(used * 100 / 90)
        let warned = p.spaceReport()
        #expect(warned.warning?.contains("90 %") == true || warned.warning?.contains("89 %") == true, "\(warned)")
        #expect(p.redoStatus.warnings.contains { $0.contains("recovery area") && $0.contains("recovery-area-size") })
        try p.setRecoveryAreaLimit(used * 2)
        #expect(p.spaceReport().warning == nil)
        #expect(!p.redoStatus.warnings.contains { $0.contains("recovery area") })
    }

    @Test func aFullAreaStallsCaptureNamingTheLimitAndLosesNothing() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        try p.backup(.quiet())
        try p.setRetention(.none)
        let limit = p.spaceReport().used + 4096
        try p.setRecoveryAreaLimit(limit)
        let hold = WALHold(w.s.db)
        // Each log is closed but cannot be archived; once both groups wait, capture stalls.
        w.write(30)
        let first = try p.archiveOnce()
        #expect(first.failures.count == 1 && first.failures[0].contains("recovery-area-size") && first.archivedScn == 20)
        w.write(30)
        _ = try p.archiveOnce()
        w.write(30)
        let e = expectCairnError { _ = try p.archiveOnce() }
        guard case let .captureStalled(_, _, reason)? = e else { Issue.record("expected a stall, got \(String(describing: e))"); return }
        #expect(reason?.contains(ByteCount.text(limit)) == true)
        #expect(e?.description.contains("recovery-area-size") == true && e?.description.contains("Nothing is lost") == true)
        #expect(p.redoStatus.warnings.contains { $0.contains("waiting to be archived") && $0.contains(ByteCount.text(limit)) })
        // The command line says the same and exits nonzero.
        let cli = Shell.run([Paths.cairn, "archive", w.s.db, "--once"])
        #expect(cli.status != 0 && cli.stderr.contains("recovery-area-size") && cli.stderr.contains(ByteCount.text(limit)))
        #expect(p.control.redo.archivedScn == 20)

        // Raising the limit lets everything through.
        try p.setRecoveryAreaLimit(limit * 20)
        let after = try p.archiveOnce()
        hold.release()
        #expect(after.failures.isEmpty && after.scn == 110 && after.archivedScn == 110)
        #expect(p.redoStatus.warnings.isEmpty)
        #expect(p.control.redo.gaps.isEmpty)
        #expect(try w.restored(.complete, "latest.db").digest == (try w.sourceDigest))
    }

    @Test func captureResumesByItselfOnceTheLimitIsRaised() throws {
        var redo = RedoOptions()
        redo.archiveTimeoutSeconds = 0.3
        let s = try RedoTests.Setup(filler: 300, redo: redo)
        var w = Workload(s)
        try s.p.backup(.quiet())
        try s.p.setRetention(.none)
        let limit = s.p.spaceReport().used + 4096
        try s.p.setRecoveryAreaLimit(limit)
        let follow = Shell.start([Paths.cairn, "archive", s.db, "--follow"])
        defer { if follow.isRunning { kill(follow.processIdentifier, SIGKILL) } }
        #expect(Await.capture(of: s.db))
        func blocked() -> Bool {
            s.p.recoveryAreaWarnings.contains { $0.contains("waiting to be archived") && $0.contains(ByteCount.text(limit)) }
        }
        // Batches a log switch apart (the archive timeout closes each one), until both groups
        // wait for archiving: the status names the limit.
        for _ in 0..<4 where !blocked() {
            let sequence = (try? Catalog.open(database: s.db, logger: quietLogger))?.control.redo.sequence ?? 0
            w.write(25)
            Await.until(10) { ((try? Catalog.open(database: s.db, logger: quietLogger))?.control.redo.sequence ?? 0) > sequence || blocked() }
        }
        #expect(Await.until(10, blocked))
        let raise = Shell.run([Paths.cairn, "configure", s.db, "recovery-area-size", "unlimited"])
        #expect(raise.status == 0, "\(raise.stderr)")
        #expect(Await.until(20) { ((try? Catalog.open(database: s.db, logger: quietLogger))?.control.redo.archivedScn ?? 0) == w.scn },
                "capture and archiving resumed by themselves")
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0)
        let p = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(p.control.redo.gaps.isEmpty)
        let out = s.dir.file("latest.db")
        _ = try p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out).digest == (try ContentDigest.compute(s.db).digest))
    }

    @Test func aBackupThatDoesNotFitIsRefusedOrRemoved() throws {
        var w = Workload(try RedoTests.Setup(filler: 300))
        let p = w.s.p
        try w.cycle(10)
        let b1 = try p.backup(.quiet { $0.compressionLevel = nil })
        try p.setRetention(.none)
        // Before: the estimate (the last backup's size) does not fit.
        try p.setRecoveryAreaLimit(p.spaceReport().used + b1.bytes / 2)
        guard case .recoveryAreaFull? = expectCairnError({ try p.backup(.quiet()) }) else { Issue.record("expected recoveryAreaFull"); return }
        #expect(p.control.backups.count == 1)

        // After: the database grew, so the backup is larger than the estimate and is removed.
        let hold = WALHold(w.s.db)
        let grow = "INSERT INTO transfers(src,dst,amount,note) SELECT 1, 2, 0, hex(randomblob(3000)) FROM transfers LIMIT 300;"
        #expect(Shell.run(["sqlite3", "-batch", w.s.db], input: grow).status == 0)
        w.statements.append(grow)
        _ = try p.archiveOnce()
        hold.release()
        try p.setRecoveryAreaLimit(p.spaceReport().used + b1.bytes + b1.bytes / 2)
        let e = expectCairnError { try p.backup(.quiet { $0.compressionLevel = nil }) }
        guard case let .recoveryAreaFull(_, _, needed, _)? = e else { Issue.record("expected recoveryAreaFull, got \(String(describing: e))"); return }
        #expect(needed > b1.bytes * 2)
        #expect(e.map(ExitStatus.of) == 6)
        #expect(p.control.backups.count == 1)
        #expect(FileSystem.list(p.layout.backupsDirectory) == [RepositoryLayout.backupDirectoryName(b1.id)])
    }
}
