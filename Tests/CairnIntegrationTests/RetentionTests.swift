@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// Writes transactions from another process (sqlite3) and captures them with `archiveOnce`,
/// keeping the WAL pinned meanwhile so every commit is captured (SCN n = statement n).
struct Workload {
    let s: RedoTests.Setup
    var statements: [String] = []
    var seed = 100

    init(_ s: RedoTests.Setup) { self.s = s }

    /// Writes `n` transactions (the WAL pinned while they wait for capture).
    mutating func write(_ n: Int) {
        let st = Ledger.transferStatements(n, seed: seed)
        seed += 1
        let r = Shell.run(["sqlite3", "-batch", s.db], input: "PRAGMA busy_timeout=10000;\n" + st.joined(separator: "\n"))
        precondition(r.status == 0, r.stderr)
        statements += st
    }

    /// Writes `n` transactions and captures and archives them.
    @discardableResult
    mutating func cycle(_ n: Int) throws -> Catalog.ArchiveReport {
        let hold = WALHold(s.db)
        defer { hold.release() }
        write(n)
        return try s.p.archiveOnce()
    }

    var scn: UInt64 { UInt64(statements.count) }

    /// Restores to `target` and returns the content digest of the result.
    func restored(_ target: RecoveryTarget, _ name: String, backup: UInt64? = nil) throws -> (digest: String, result: RecoveryEngine.Result) {
        let out = s.dir.file(name)
        let r = try s.p.recover(to: out, target: target, backup: backup)
        return (try ContentDigest.compute(out).digest, r)
    }

    func expected(_ scn: UInt64) throws -> String { try s.expectedDigest(after: Int(scn), of: statements) }
    var sourceDigest: String { get throws { try ContentDigest.compute(s.db).digest } }
}

/// Retention, obsolete and expired files, archival backups and restore points on real databases.
@Suite struct RetentionTests {
    @Test func deleteObsoleteKeepsEveryPointAfterTheFloorRestorable() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(30)
        let b1 = try p.backup(.quiet())
        try w.cycle(30)
        let b2 = try p.backup(.quiet())
        try w.cycle(30)
        let b3 = try p.backup(.quiet())
        try w.cycle(30)
        #expect(p.control.redo.gaps.isEmpty && b1.scn == 30 && b2.scn == 60 && b3.scn == 90)
        try p.setRetention(.redundancy(2))
        let r = p.obsolete()
        #expect(r.backups.map(\.id) == [b1.id])
        #expect(r.floorBackupId == b2.id)
        let expectedLogs = p.control.redo.logs.filter { $0.highScn < b2.scn }.map(\.sequence)
        #expect(!expectedLogs.isEmpty && r.logs.map(\.sequence) == expectedLogs)

        let d = try p.deleteObsolete()
        #expect(d.backups == [b1.id] && d.failures.isEmpty)
        #expect(d.logCopies.map(\.sequence) == expectedLogs && d.logsDropped.map(\.sequence) == expectedLogs)
        #expect(!FileSystem.exists(p.layout.backupDirectory(b1.id)))
        for s in expectedLogs { #expect(!FileSystem.exists(p.layout.archiveDirectory + "/" + LogRecord.fileName(incarnation: 1, sequence: s))) }
        #expect(FileSystem.list(p.layout.backupsDirectory).allSatisfy { !$0.hasPrefix(".") })
        #expect(FileSystem.list(p.layout.archiveDirectory).allSatisfy { !$0.hasPrefix(".") })
        #expect(p.obsolete().isEmpty)
        #expect(try Catalog.open(database: w.s.db, logger: quietLogger).control.backups.map(\.id) == [b2.id, b3.id])

        let latest = try w.restored(.complete, "latest.db")
        #expect(latest.digest == (try w.sourceDigest))
        for n in [b2.scn, b2.scn + 7, b3.scn + 11, w.scn] {
            #expect(try w.restored(.scn(n), "scn\(n).db").digest == (try w.expected(n)), "SCN \(n)")
        }
        // Before the floor there is nothing left to start from.
        #expect(expectCairnError { _ = try w.restored(.scn(b1.scn + 5), "gone.db") } != nil)
    }

    @Test func levelOnesGoWithTheirLevelZeroAndChainsAfterTheFloorStillRestore() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        let b1 = try p.backup(.quiet())
        try w.cycle(20)
        let b2 = try p.backup(.quiet { $0.level = 1 })
        try w.cycle(20)
        let b3 = try p.backup(.quiet())
        try w.cycle(20)
        let b4 = try p.backup(.quiet { $0.level = 1 })
        try w.cycle(20)
        #expect(b2.level == 1 && b2.baseId == b1.id && b4.level == 1 && b4.baseId == b3.id)
        try p.setRetention(.redundancy(1))
        let r = p.obsolete()
        #expect(r.backups.map(\.id) == [b1.id, b2.id])
        #expect(r.backups[1].reason.contains("backup \(b1.id)"))
        #expect(r.logs.allSatisfy { $0.highScn < b3.scn })
        let d = try p.deleteObsolete()
        #expect(d.backups == [b1.id, b2.id])
        #expect(p.control.backups.map(\.id) == [b3.id, b4.id])
        for n in [b3.scn + 3, b4.scn, b4.scn + 9, w.scn] {
            #expect(try w.restored(.scn(n), "l1-\(n).db").digest == (try w.expected(n)), "SCN \(n)")
        }
        #expect(try w.restored(.complete, "latest.db").digest == (try w.sourceDigest))
        // An archival backup is never a level 1.
        let e = expectCairnError { try p.backup(.quiet { $0.level = 1; $0.keepForever = true }) }
        #expect(e.map(ExitStatus.of) == 64 && e?.description.contains("level-0") == true)
    }

    @Test func archivedLogSetsGoWhenAllTheirLogsAreObsoleteAndTheirCopiesAreReclaimable() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        try p.backup(.quiet())
        try w.cycle(20)
        // Logs 1 and 2 go into a set and leave the archive destination.
        let moved = try p.backupArchivedLogs(.quiet(), deleteInput: true)
        let set1 = try #require(moved.backup)
        #expect(moved.logs.map(\.sequence) == [1, 2] && moved.deleted.count == 2)
        try w.cycle(20)
        // Log 3 goes into a set too but keeps its archived copy: that copy can be reclaimed.
        let set2 = try #require(try p.backupArchivedLogs(.quiet()).backup)
        let cands = p.recoveryArea.candidates(p.control)
        #expect(cands.contains { $0.what == .logCopySafeElsewhere && $0.log?.sequence == 3 })
        #expect(p.spaceReport().categories.logBackups > 0)
        let b2 = try p.backup(.quiet())
        try w.cycle(20)
        let b3 = try p.backup(.quiet())
        try w.cycle(10)
        try p.setRetention(.redundancy(1))
        // Floor: backup 3. Logs 1-3 end before it; both sets hold only obsolete logs.
        let r = p.obsolete()
        #expect(r.backups.map(\.id) == [1, set1.id, set2.id, b2.id])
        #expect(r.logs.map(\.sequence) == p.control.redo.logs.filter { $0.highScn < b3.scn }.map(\.sequence))
        let d = try p.deleteObsolete()
        #expect(d.backups == [1, set1.id, set2.id, b2.id] && d.failures.isEmpty)
        #expect(!p.control.redo.logs.contains { $0.highScn < b3.scn }, "no copy and no set is left for them")
        #expect(!FileSystem.exists(p.layout.backupDirectory(set1.id)) && !FileSystem.exists(p.layout.backupDirectory(set2.id)))
        #expect(try w.restored(.complete, "latest.db").digest == (try w.sourceDigest))
        #expect(try w.restored(.scn(b3.scn + 4), "after.db").digest == (try w.expected(b3.scn + 4)))
    }

    @Test func archivalBackupsAreExemptAndRestoreWithNoLogAtAll() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        let forever = try p.backup(.quiet { $0.keepForever = true })
        let until = Date().addingTimeInterval(86_400 * 30)
        try w.cycle(20)
        let dated = try p.backup(.quiet { $0.keepUntil = until })
        try w.cycle(20)
        let b3 = try p.backup(.quiet())
        try w.cycle(20)
        let b4 = try p.backup(.quiet())
        #expect(forever.keepForever == true && forever.isKept())
        #expect(try BackupManifest.read(directory: p.layout.backupDirectory(forever.id)).keepForever == true)
        let stored = try BackupManifest.read(directory: p.layout.backupDirectory(dated.id)).keepUntil
        #expect(stored.map { abs($0.timeIntervalSince(until)) < 1 } == true)
        #expect(dated.keepUntil.map { abs($0.timeIntervalSince(until)) < 0.001 } == true)
        try p.setRetention(.redundancy(1))
        #expect(p.obsolete().backups.map(\.id) == [b3.id])
        // Past its date, an archival backup is obsolete like the others.
        #expect(p.obsolete(now: until.addingTimeInterval(1)).backups.map(\.id) == [dated.id, b3.id])
        _ = try p.deleteObsolete()
        #expect(p.control.backups.map(\.id) == [forever.id, dated.id, b4.id])

        // Every log is gone, archived and online: the archival backups still restore on their own.
        for name in FileSystem.list(p.layout.archiveDirectory) { FileSystem.removeFile(p.layout.archiveDirectory + "/" + name) }
        for name in FileSystem.list(p.layout.onlineLogDirectory) { FileSystem.removeFile(p.layout.onlineLogDirectory + "/" + name) }
        for b in [forever, dated] {
            let out = w.s.dir.file("archival-\(b.id).db")
            try p.restore(to: out, backup: b.id)
            #expect(try ContentDigest.compute(out).digest == (try w.expected(b.scn)))
        }
    }

    @Test func aGuaranteedRestorePointKeepsItsBackupAndLogsUntilDropped() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        let b1 = try p.backup(.quiet())
        let hold = WALHold(w.s.db)
        w.write(15)
        let rp = try p.createRestorePoint("before-upgrade", guarantee: true)
        hold.release()
        #expect(rp.scn == 35 && rp.guaranteed && rp.incarnation == 1)
        let plain = try p.createRestorePoint("plain.point_1")
        #expect(plain.scn == 35 && !plain.guaranteed)
        try w.cycle(20)
        let b2 = try p.backup(.quiet())
        try w.cycle(20)
        try p.backup(.quiet())
        try w.cycle(10)
        try p.setRetention(.redundancy(1))
        let needed = RestorePointGuarantee.of(rp, in: p.control)
        #expect(needed.backupId == b1.id && !needed.logs.isEmpty)
        let r = p.obsolete()
        #expect(r.backups.map(\.id) == [b2.id])
        #expect(Set(r.logs.map(\.key)).isDisjoint(with: needed.logs))
        _ = try p.deleteObsolete()
        #expect(FileSystem.isDirectory(p.layout.backupDirectory(b1.id)))
        let info = p.restorePoints()
        #expect(info.map(\.name) == ["before-upgrade", "plain.point_1"])
        #expect(info[0].keptBackups == [b1.id] && info[0].onCurrentLineage && info[1].keptBackups.isEmpty)

        let target = try p.restorePointTarget("before-upgrade")
        #expect(target == .scn(35))
        let back = try w.restored(target, "rp.db")
        #expect(back.digest == (try w.expected(35)) && back.result.backupId == b1.id)

        // Dropping the point releases what it kept.
        try p.dropRestorePoint("before-upgrade")
        #expect(p.obsolete().backups.map(\.id) == [b1.id])
        _ = try p.deleteObsolete()
        #expect(!FileSystem.exists(p.layout.backupDirectory(b1.id)))
        #expect(try w.restored(.complete, "latest.db").digest == (try w.sourceDigest))

        for (name, needle) in [("before-upgrade", "not valid"), ("plain.point_1", "already exists")] {
            let bad = name == "before-upgrade" ? "bad name!" : name
            let e = expectCairnError { try p.createRestorePoint(bad) }
            #expect(e.map(ExitStatus.of) == 64 && e?.description.contains(needle) == true)
        }
        guard case .restorePointNotFound? = expectCairnError({ try p.dropRestorePoint("before-upgrade") }) else {
            Issue.record("dropping twice must say the point is unknown"); return
        }
        guard case .restorePointNotFound? = expectCairnError({ _ = try p.restorePointTarget("nope") }) else {
            Issue.record("an unknown point must be reported"); return
        }
    }

    @Test func aGuaranteeNeedsABackupAndAPointOffTheLineageIsRefused() throws {
        var w = Workload(try RedoTests.Setup(filler: 300))
        let p = w.s.p
        try w.cycle(10)
        guard case .noBackupForRestorePoint? = expectCairnError({ try p.createRestorePoint("g", guarantee: true) }) else {
            Issue.record("a guaranteed point with no backup must be refused"); return
        }
        #expect(p.control.restorePoints.isEmpty)
        let b1 = try p.backup(.quiet())
        try w.cycle(10)
        try p.createRestorePoint("later", guarantee: true)
        // Go back to the backup in place: a new incarnation, and the point is on the abandoned branch.
        _ = try p.recoverInPlace(target: .scn(b1.scn))
        #expect(p.control.incarnation == 2)
        let e = expectCairnError { _ = try p.restorePointTarget("later") }
        #expect(e?.description.contains("not on the current incarnation's lineage") == true)
        #expect(p.restorePoints().first?.onCurrentLineage == false)
        // It still keeps what it needs, though a newer backup would make backup 1 obsolete.
        try p.setRetention(.redundancy(1))
        try p.backup(.quiet())
        #expect(p.obsolete().floorIncarnation == 2)
        #expect(!p.obsolete().backups.contains { $0.id == b1.id })
        try p.dropRestorePoint("later")
        #expect(p.obsolete().backups.map(\.id) == [b1.id])
    }

    @Test func aRestorePointWhileCaptureRunsGetsTheNewestCommittedSCN() throws {
        let s = try RedoTests.Setup(filler: 300)
        var w = Workload(s)
        let follow = Shell.start([Paths.cairn, "archive", s.db, "--follow"])
        defer { if follow.isRunning { kill(follow.processIdentifier, SIGKILL) } }
        #expect(Await.capture(of: s.db))
        try s.p.backup(.quiet())
        w.write(150)
        let rp = try s.p.createRestorePoint("mid", guarantee: true)
        #expect(rp.scn == 150)
        w.write(50)
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0)
        let p = try Catalog.open(database: s.db, logger: quietLogger)
        let out = s.dir.file("mid.db")
        _ = try p.recover(to: out, target: try p.restorePointTarget("mid"))
        #expect(try ContentDigest.compute(out).digest == (try w.expected(150)))
    }

    @Test func crosscheckExpiresWhatIsGoneAndRestoreUsesAnotherBackup() throws {
        var w = Workload(try RedoTests.Setup(filler: 500))
        let p = w.s.p
        try w.cycle(20)
        let b1 = try p.backup(.quiet())
        try w.cycle(20)
        let b2 = try p.backup(.quiet())
        try w.cycle(20)
        let all = try p.crosscheck()
        #expect(all.backups.allSatisfy { $0.status == "AVAILABLE" } && all.expiredLogs == 0)

        // A piece goes missing: the backup is EXPIRED and restore starts from the other one.
        let dir2 = p.layout.backupDirectory(b2.id)
        let piece = dir2 + "/" + (FileSystem.list(dir2).first { $0.hasSuffix(".cbp") } ?? "")
        let aside = w.s.dir.file("aside.cbp")
        try FileSystem.rename(piece, aside)
        let c1 = try p.crosscheck()
        let r2 = try #require(c1.backups.first { $0.id == b2.id })
        #expect(r2.status == "EXPIRED" && r2.previous == "AVAILABLE" && r2.problem?.contains("piece-") == true)
        #expect(c1.backups.first { $0.id == b1.id }?.status == "AVAILABLE")
        #expect(p.control.backups.first { $0.id == b2.id }?.isAvailable == false)
        let latest = try w.restored(.complete, "latest.db")
        let source = try w.sourceDigest
        #expect(latest.result.backupId == b1.id && latest.digest == source)

        // Found again: AVAILABLE.
        try FileSystem.rename(aside, piece)
        let found = try #require(try p.crosscheck().backups.first { $0.id == b2.id })
        #expect(found.status == "AVAILABLE" && found.previous == "EXPIRED")

        // Unreadable (same size, header overwritten): EXPIRED too.
        chmod(piece, 0o644)
        var bytes = try FileSystem.readAll(piece)
        for i in 0..<8 { bytes[i] = 0x58 }
        try FileSystem.atomicWrite(bytes, to: piece)
        #expect(try p.crosscheck().backups.first { $0.id == b2.id }?.problem?.contains("bad magic") == true)

        // An archived log goes missing: with its only copy gone the log is EXPIRED.
        let log1 = try #require(p.control.redo.logs.first { $0.sequence == 1 })
        FileSystem.removeFile(p.layout.archiveDirectory + "/" + log1.fileName)
        let c3 = try p.crosscheck()
        let l1 = try #require(c3.logs.first { $0.sequence == 1 })
        #expect(l1.status == "EXPIRED" && l1.copies.first?.state == "EXPIRED")
        #expect(p.control.redo.logs.first { $0.sequence == 1 }?.destinations.first?.state == .expired)

        let d = try p.deleteExpired()
        #expect(d.backups == [b2.id] && d.logsDropped.map(\.sequence) == [1] && d.failures.isEmpty)
        #expect(!FileSystem.exists(dir2) && p.control.backups.map(\.id) == [b1.id])
        #expect(!p.control.redo.logs.contains { $0.sequence == 1 })
        #expect(try p.deleteExpired().isEmpty)
        #expect(try w.restored(.complete, "after.db").digest == (try w.sourceDigest))
    }

    @Test func interruptedDeletionsLeaveOnlyHarmlessLeftovers() throws {
        var w = Workload(try RedoTests.Setup(filler: 300))
        let p = w.s.p
        try w.cycle(10)
        let b1 = try p.backup(.quiet())
        // As if a deletion crashed after renaming the directory aside.
        let aside = p.layout.backupsDirectory + "/" + RepositoryLayout.deletingPrefix + "00000099"
        try FileSystem.makeDirectories(aside)
        let dest = LocalDirectoryDestination(directory: p.layout.archiveDirectory)
        try FileSystem.atomicWrite([1, 2, 3], to: p.layout.archiveDirectory + "/.log-i0001-s00000099.clog.deleting")
        #expect(FileSystem.exists(aside))
        // The next backup removes the leftover directory; `removeDeletionLeftovers` the log copy.
        try w.cycle(10)
        try p.backup(.quiet())
        #expect(!FileSystem.exists(aside))
        p.removeDeletionLeftovers()
        #expect(FileSystem.list(p.layout.archiveDirectory).allSatisfy { !$0.hasPrefix(".") })
        #expect(dest.size(of: LogRecord.fileName(incarnation: 1, sequence: 1)) != nil)
        #expect(p.control.backups.first?.id == b1.id)
    }
}
