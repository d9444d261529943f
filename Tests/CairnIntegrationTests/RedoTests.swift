@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CSQLite
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// Capture, online logs, archiving and point-in-time recovery (DESIGN.md invariants 1-3).
@Suite struct RedoTests {
    /// A registered ledger database, its state at SCN 0 kept aside to compute expected states.
    struct Setup {
        let dir = TempDir()
        let db: String
        let base: String
        let p: Catalog

        init(name: String = #function, filler: Int = 2000, redo: RedoOptions = RedoOptions()) throws {
            db = dir.file("app.db")
            base = dir.file("base.db")
            Ledger.create(db, filler: filler)
            p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
            Shell.run(["sqlite3", db, "VACUUM INTO '\(base)'"])
        }

        /// The content digest the database must have right after transaction `n` of `statements`.
        func expectedDigest(after n: Int, of statements: [String]) throws -> String {
            let copy = dir.file("expected-\(n).db")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: base, toPath: copy)
            let r = Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
            precondition(r.status == 0, r.stderr)
            return try ContentDigest.compute(copy).digest
        }

        func recovered(_ target: RecoveryTarget, name: String, backup: UInt64? = nil) throws -> (String, RecoveryEngine.Result) {
            let out = dir.file(name)
            let r = try p.recover(to: out, target: target, backup: backup)
            return (out, r)
        }
    }

    @Test func everyCommitGetsOneSCNAndRecoveryReachesEachOne() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(120, seed: 3)
        // Keep a connection open so the WAL survives the writer's exit.
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        let report = try s.p.archiveOnce()
        holder.release()
        #expect(report.captured == 120)
        #expect(report.scn == 120)
        #expect(report.archivedScn == 120)
        let logs = s.p.control.redo.logs
        #expect(logs.count == 1 && logs[0].lowScn == 1 && logs[0].highScn == 120 && logs[0].status == .archived)
        for n in [0, 1, 37, 119, 120] {
            let (out, r) = try s.recovered(.scn(UInt64(n)), name: "scn\(n).db")
            #expect(r.scn == UInt64(n))
            #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: n, of: statements)), "SCN \(n)")
        }
        let (latest, _) = try s.recovered(.complete, name: "latest.db")
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(s.db)))
    }

    /// Invariant 1: capture killed with SIGKILL at random moments, a writer in another process
    /// running TRUNCATE checkpoints all the while; the guardian restarts capture. Nothing is lost.
    @Test func sigkilledCaptureLosesNothing() throws {
        let s = try Setup(filler: 1000)
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(1500, seed: 7)
        var script = "PRAGMA busy_timeout=200;\n"
        for (i, t) in statements.enumerated() {
            script += t + "\n"
            if i % 40 == 39 { script += "PRAGMA wal_checkpoint(TRUNCATE);\n" }
        }
        let follow = Shell.start([Paths.cairn, "archive", s.db, "--follow"])
        #expect(Await.capture(of: s.db))
        let writer = Shell.start(["sqlite3", "-batch", s.db], input: script)
        var kills = 0
        var seed = TestSeed()
        // At least three kills, the later ones after the writer ended if it was quick (capture
        // is then catching up, archiving or idle: each must lose nothing either).
        while (writer.isRunning || kills < 3) && kills < 12 {
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.4, using: &seed.rng))
            let r = Shell.run(["pkill", "-9", "-f", "\(s.db) --follow --worker"])
            if r.status == 0 { kills += 1 }
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0)
        #expect(kills >= 3)
        let st = s.p.redoStatus
        let reopened = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(reopened.control.redo.gaps.isEmpty)
        #expect(reopened.redoStatus.scn == 1500)
        #expect(reopened.redoStatus.archivedScn == 1500, "\(st)")
        let (latest, _) = try reopened.recover(to: s.dir.file("latest.db"), target: .complete).asTuple(s.dir.file("latest.db"))
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(s.db)))
        for n in [1, 333, 777, 1499] {
            let out = s.dir.file("s\(n).db")
            _ = try reopened.recover(to: out, target: .scn(UInt64(n)))
            #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: n, of: statements)), "SCN \(n)")
        }
    }

    /// Backups taken while capture runs in another process get the exact SCN of their
    /// snapshot: each one equals the state after exactly that many transactions.
    @Test func onlineBackupsDuringCaptureRecordExactSCNs() throws {
        let s = try Setup(filler: 1000)
        let statements = Ledger.transferStatements(1500, seed: 12)
        let follow = Shell.start([Paths.cairn, "archive", s.db, "--follow"])
        #expect(Await.capture(of: s.db))
        let writer = Shell.start(["sqlite3", "-batch", s.db], input: "PRAGMA busy_timeout=5000;\n" + statements.joined(separator: "\n"))
        var backups: [BackupRecord] = []
        // At least one backup while the writer runs; on a busy machine it may finish first.
        while (writer.isRunning || backups.count < 2) && backups.count < 4 {
            backups.append(try s.p.backup(.quiet()))
            Thread.sleep(forTimeInterval: 0.1)
        }
        writer.waitUntilExit()
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0)
        #expect(backups.count >= 2)
        for b in backups {
            let out = s.dir.file("b\(b.id).db")
            try s.p.restore(to: out, backup: b.id)
            #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: Int(b.scn), of: statements)), "backup \(b.id) at SCN \(b.scn)")
        }
    }

    @Test func multiplexedMembersAreIdenticalAndAFailingMemberGoesStale() throws {
        let dir = TempDir()
        let fs = try SmallFileSystem(at: dir.file("small"), size: "40k")
        let small = fs.path
        defer { withExtendedLifetime(fs) {} }
        var redo = RedoOptions()
        redo.memberDirectories = [dir.file("m1"), dir.file("m2"), small]
        let db = dir.file("app.db")
        Ledger.create(db, filler: 500)
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        try p.backup(.quiet())
        let holder = WALHold(db)
        defer { holder.release() }
        Ledger.write(db, 10)
        let capturer = try Capturer(database: p, logger: quietLogger)
        #expect(try capturer.step() == 10)
        let a = try FileSystem.readAll(dir.file("m1/redo-g1.log")), b = try FileSystem.readAll(dir.file("m2/redo-g1.log"))
        #expect(a == b && a.count > 1000)
        // The third member's file system is full: it is marked stale, the others carry on.
        Ledger.write(db, 300)
        let got = try capturer.step()
        #expect(got == 300, "captured \(got), scn \(capturer.scn)")
        try capturer.switchLog()
        let g = p.control.redo.groups[0]
        #expect(g.staleMembers == [small + "/redo-g1.log"])
        #expect(try FileSystem.readAll(dir.file("m1/redo-g1.log")) == (try FileSystem.readAll(dir.file("m2/redo-g1.log"))))
        #expect(Archiver(database: p, logger: quietLogger).archivePending(force: true) == 1)
        let out = dir.file("r.db")
        _ = try p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
    }

    @Test func everyMemberFailingStopsCaptureWithAClearError() throws {
        let dir = TempDir()
        let fs = try SmallFileSystem(at: dir.file("small"), size: "24k")
        let small = fs.path
        defer { withExtendedLifetime(fs) {} }
        var redo = RedoOptions()
        redo.memberDirectories = [small]
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        let holder = WALHold(db)
        defer { holder.release() }
        Ledger.write(db, 300)
        let capturer = try Capturer(database: p, logger: quietLogger)
        let e = expectCairnError { try capturer.step() }
        #expect(e?.description.contains("every member of the group failed") == true)
        #expect(e?.description.contains(small) == true)
    }

    @Test func logsSwitchBySizeAndOnRequestWithSequencesAndRanges() throws {
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        redo.groups = 3
        let s = try Setup(redo: redo)
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        defer { holder.release() }
        Ledger.write(s.db, 200, seed: 2)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        let archiver = Archiver(database: s.p, logger: quietLogger)
        // The archiver frees groups as logs fill.
        try captureAll(capturer, archiver, through: 200)
        try capturer.switchLog()
        archiver.archivePending(force: true)
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        #expect(logs.count >= 3)
        #expect(logs.map(\.sequence) == Array(1...UInt64(logs.count)))
        #expect(logs.first?.lowScn == 1 && logs.last?.highScn == 200)
        for (a, b) in zip(logs, logs.dropFirst()) { #expect(b.lowScn == a.highScn + 1) }
        #expect(logs.allSatisfy { $0.status == .archived })
        // A switch on request closes the open log.
        Ledger.write(s.db, 3, seed: 9)
        let msg = try s.p.requestLogSwitch()
        #expect(msg.contains("closed"))
        #expect(s.p.control.redo.logs.count == logs.count + 1)
        let out = s.dir.file("seq.db")
        _ = try s.p.recover(to: out, target: .sequence(2))
        #expect(Ledger.check(out).transfers == 2000 + Int(logs[1].highScn))
    }

    /// Two online log groups of 64 KiB, a backup, and a single archive destination that is
    /// unreachable (a file where a directory should be) until `destination` is removed.
    static func setupWithUnreachableArchive() throws -> (Setup, (dir: TempDir, destination: String)) {
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        let blocked = TempDir()
        let destination = blocked.file("dest")
        try FileSystem.atomicWrite(Array("not a directory".utf8), to: destination)
        redo.archiveDestinations = [destination]
        let s = try Setup(redo: redo)
        try s.p.backup(.quiet())
        return (s, (blocked, destination))
    }

    /// A group is reused only after its log is archived: with the destination unavailable,
    /// capture waits (nothing is lost) and resumes when the destination comes back.
    @Test func captureWaitsWhenNoGroupIsFreeAndResumes() throws {
        let (s, blocked) = try Self.setupWithUnreachableArchive()
        let destination = blocked.destination
        let holder = WALHold(s.db)
        defer { holder.release() }
        Ledger.write(s.db, 150, seed: 4)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        let archiver = Archiver(database: s.p, logger: quietLogger)
        let e = expectCairnError { try capturer.step() }
        guard case .captureStalled? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(e!.description.contains("Nothing is lost"))
        #expect(archiver.archivePending(force: true) == 0)
        #expect(s.p.control.redo.logs.first?.destinations.first?.state == .failed)
        // The destination comes back.
        FileSystem.removeFile(destination)
        #expect(archiver.archivePending(force: true) >= 1)
        try captureAll(capturer, archiver, through: 150)
        try capturer.switchLog()
        archiver.archivePending(force: true)
        #expect(s.p.control.redo.archivedScn == 150)
        let (out, _) = try s.recovered(.complete, name: "r.db")
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }

    @Test func writesWhileCaptureIsStoppedAreAGapThatRecoveryNeverCrosses() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let first = WALHold(s.db)
        Ledger.write(s.db, 5)
        _ = try s.p.archiveOnce()
        first.release()
        // Written and checkpointed (the WAL is deleted when sqlite3 exits) with no capture running.
        Ledger.write(s.db, 5, seed: 8)
        let report = try s.p.archiveOnce()
        let st = s.p.redoStatus
        #expect(st.gaps.count == 1)
        #expect(st.gaps[0].scn == 6)
        #expect(report.scn == 6)
        let e = expectCairnError { _ = try s.p.recover(to: s.dir.file("x.db"), target: .scn(6)) }
        #expect(e?.description.contains("never captured") == true)
        #expect(!FileSystem.exists(s.dir.file("x.db")))
        // Before the gap recovery still works; a new level-0 backup starts a new chain.
        let (five, _) = try s.recovered(.scn(5), name: "five.db")
        #expect(Ledger.check(five).transfers == 2005)
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        Ledger.write(s.db, 3, seed: 11)
        _ = try s.p.archiveOnce(switchLog: false)
        _ = holder
        let (latest, r) = try s.recovered(.complete, name: "after.db")
        #expect(r.backupScn >= 6)
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(s.db)))
    }

    @Test func missingLogIsNamedAndStopsUnlessIncompleteIsAllowed() throws {
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        redo.groups = 4
        let s = try Setup(redo: redo)
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        Ledger.write(s.db, 150, seed: 5)
        _ = try s.p.archiveOnce()
        holder.release()
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        try #require(logs.count >= 3)
        // Sequence 2 disappears from the archive and from the online groups.
        let victim = logs[1]
        FileSystem.removeFile(s.p.layout.archiveDirectory + "/" + victim.fileName)
        for path in s.p.control.redo.memberPaths(group: victim.group) { FileSystem.removeFile(path) }
        let out = s.dir.file("r.db")
        // An explicit target beyond the missing log fails, naming it and the newest reachable point.
        let e = expectCairnError { _ = try s.p.recover(to: out, target: .scn(150)) }
        guard case let .missingLog(seq, _, looked, reached)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(seq == 2)
        #expect(reached == logs[0].highScn)
        #expect(looked.contains { $0.hasSuffix(victim.fileName) })
        #expect(!FileSystem.exists(out))
        let r = try s.p.recover(to: out, target: .scn(150), allowIncomplete: true)
        #expect(!r.complete && r.scn == logs[0].highScn)
        #expect(Ledger.check(out).total == Ledger.accounts * 1000)
        // Complete recovery (the default) goes as far as it can and says what it left out.
        let all = s.dir.file("all.db")
        let c = try s.p.recover(to: all, target: .complete)
        #expect(!c.complete && c.scn == logs[0].highScn)
        #expect(c.shortfall?.cause == .missingLog && c.shortfall?.fromScn == logs[0].highScn + 1 && c.shortfall?.toScn == 150)
        #expect(c.shortfall?.transactions == 150 - logs[0].highScn)
        #expect(c.shortfall?.reason.contains(victim.fileName) == true, "\(c.shortfall?.reason ?? "")")
        #expect(try ContentDigest.compute(all) == (try ContentDigest.compute(out)))
    }

    /// A damaged archived log is detected and named; a good copy in another destination is
    /// used instead; with no good copy left, recovery stops before it and hands out nothing.
    @Test func corruptArchivedLogIsDetectedAndAnotherDestinationUsed() throws {
        let other = TempDir()
        var redo = RedoOptions()
        let first = other.file("dest1"), second = other.file("dest2")
        redo.archiveDestinations = [first, second]
        redo.minSucceed = 2
        let s = try Setup(redo: redo)
        try s.p.backup(.quiet())
        let hold = WALHold(s.db)
        Ledger.write(s.db, 40, seed: 21)
        _ = try s.p.archiveOnce()
        hold.release()
        let log = try #require(s.p.control.redo.logs.first)
        #expect(log.destinations.allSatisfy { $0.state == .archived })
        // The online copy is reused later; here remove it so only the archives remain.
        for path in s.p.control.redo.memberPaths(group: log.group) { FileSystem.removeFile(path) }
        let damaged = first + "/" + log.fileName
        var bytes = try FileSystem.readAll(damaged)
        bytes[bytes.count / 2] ^= 0x08
        try FileSystem.atomicWrite(bytes, to: damaged)
        let (ok, r) = try s.recovered(.complete, name: "ok.db")
        #expect(r.scn == 40)
        #expect(try ContentDigest.compute(ok) == (try ContentDigest.compute(s.db)))
        // Both copies damaged: the recovery names the log and writes nothing.
        let damaged2 = second + "/" + log.fileName
        var bytes2 = try FileSystem.readAll(damaged2)
        bytes2[100] ^= 0x01
        try FileSystem.atomicWrite(bytes2, to: damaged2)
        let out = s.dir.file("bad.db")
        let e = expectCairnError { _ = try s.p.recover(to: out, target: .scn(40)) }
        guard case let .missingLog(seq, _, looked, reached)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(seq == log.sequence && reached == 0)
        #expect(looked.contains(damaged) && looked.contains(damaged2))
        #expect(!FileSystem.exists(out))
        // Complete recovery stops before the damaged log and says so.
        let c = try s.p.recover(to: out, target: .complete)
        #expect(!c.complete && c.scn == 0 && c.shortfall?.cause == .damagedLog && c.shortfall?.transactions == 40)
        #expect(c.shortfall?.reason.contains(damaged) == true && c.shortfall?.reason.contains(damaged2) == true)
        // Reading the damaged file directly names the file and the offset.
        let reader = try RedoLogReader(path: damaged)
        let readError = expectCairnError { while try reader.next(strict: true) != nil {} }
        #expect(readError?.description.contains(damaged) == true)
    }

    @Test func inPlaceRecoveryToAnEarlierPointOpensAnIncarnation() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let first = Ledger.transferStatements(40, seed: 1)
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: first.joined(separator: "\n")).status == 0)
        _ = try s.p.archiveOnce()
        holder.release()
        let r = try s.p.recoverInPlace(target: .scn(25))
        #expect(r.scn == 25)
        #expect(try ContentDigest.compute(s.db).digest == (try s.expectedDigest(after: 25, of: first)))
        let incs = s.p.listIncarnations()
        #expect(incs.count == 2 && incs[1].parent == 1 && incs[1].resetScn == 25 && incs[1].startScn == 41)
        #expect(s.p.control.redo.sequence == 0)
        // New transactions on the new incarnation: SCNs continue after every SCN used so far.
        let holder2 = WALHold(s.db)
        Ledger.write(s.db, 10, seed: 99)
        let rep = try s.p.archiveOnce()
        holder2.release()
        #expect(rep.scn == 50)
        let newLogs = s.p.control.redo.logs.filter { $0.incarnation == 2 }
        #expect(newLogs.first?.sequence == 1 && newLogs.first?.lowScn == 41)
        // Latest on the new incarnation goes through the parent up to SCN 25, then incarnation 2.
        let (latest, rr) = try s.recovered(.complete, name: "latest.db")
        #expect(rr.scn == 50)
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(s.db)))
        // A point of the parent before the branch works; the abandoned branch is never applied.
        let (p20, _) = try s.recovered(.scn(20), name: "p20.db")
        #expect(try ContentDigest.compute(p20).digest == (try s.expectedDigest(after: 20, of: first)))
        let e = expectCairnError { _ = try s.p.recover(to: s.dir.file("x.db"), target: .scn(30)) }
        #expect(e?.description.contains("abandoned branch") == true)
    }

    @Test func recoveryToATime() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        defer { holder.release() }
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        Ledger.write(s.db, 10, seed: 1)
        try capturer.step()
        Thread.sleep(forTimeInterval: 0.3)
        let middle = Date()
        Thread.sleep(forTimeInterval: 0.3)
        Ledger.write(s.db, 10, seed: 2)
        try capturer.step()
        try capturer.switchLog()
        Archiver(database: s.p, logger: quietLogger).archivePending(force: true)
        let (out, r) = try s.recovered(.time(middle), name: "t.db")
        #expect(r.scn == 10)
        #expect(Ledger.check(out).transfers == 2010)
    }

    @Test func inProcessCaptureRecordsExactCommitTimes() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        var conn: OpaquePointer?
        #expect(sqlite3_open(s.db, &conn) == SQLITE_OK)
        defer { sqlite3_close(conn) }
        let capture = try InProcessCapture(database: s.p, connection: conn!, logger: quietLogger)
        var commitTimes: [UInt64] = []
        for i in 0..<20 {
            #expect(sqlite3_exec(conn, "BEGIN; UPDATE accounts SET balance = balance WHERE id = \(i + 1); INSERT INTO transfers(note) VALUES('inproc \(i)'); COMMIT;", nil, nil, nil) == SQLITE_OK)
            commitTimes.append(Capturer.nowMicros())
            usleep(20_000)
        }
        try capture.stop()
        #expect(capture.scn == 20)
        let log = s.p.control.redo.logs.last!
        let reader = try RedoLogReader(path: s.p.layout.archiveDirectory + "/" + log.fileName)
        var i = 0
        while let r = try reader.next(strict: true) {
            #expect(r.exactTime)
            // The hook runs inside the commit, before control returns (a loaded machine may
            // preempt the test between the two, hence the loose bound).
            #expect(r.commitMicros <= commitTimes[i] && commitTimes[i] - r.commitMicros < 500_000)
            i += 1
        }
        #expect(i == 20)
    }

    @Test func statusAndListingsAsJSON() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        Ledger.write(s.db, 4)
        _ = try s.p.archiveOnce()
        holder.release()
        func json(_ args: String...) -> Any? {
            let r = Shell.run([Paths.cairn] + args)
            return try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        }
        let st = try #require(json("status", s.db, "--json") as? [String: Any])
        for k in ["scn", "archivedScn", "sequence", "incarnation", "mode", "gaps", "dbid"] { #expect(st.keys.contains(k), "status lacks \(k)") }
        #expect(st["scn"] as? Int == 4 && st["mode"] as? String == "ARCHIVELOG")
        let logs = try #require(json("list", "logs", s.db, "--json") as? [[String: Any]])
        #expect(logs.count == 1)
        for k in ["sequence", "incarnation", "lowScn", "highScn", "lowTime", "highTime", "bytes", "destinations"] {
            #expect(logs[0].keys.contains(k), "log lacks \(k)")
        }
        let incs = try #require(json("list", "incarnations", s.db, "--json") as? [[String: Any]])
        #expect(incs.count == 1 && incs[0]["current"] as? Bool == true)
    }

    @Test func noArchiveLogModeAndBackOn() throws {
        let s = try Setup()
        try s.p.setLogMode(.noarchivelog)
        #expect(throws: EngineError.self) { _ = try s.p.archiveOnce() }
        Ledger.write(s.db, 5)
        let b = try s.p.backup(.quiet())
        #expect(b.scn >= 0)
        try s.p.setLogMode(.archivelog)
        #expect(s.p.redoStatus.gaps.count == 1)
        #expect(s.p.redoStatus.mode == "ARCHIVELOG")
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        Ledger.write(s.db, 5, seed: 3)
        _ = try s.p.archiveOnce()
        holder.release()
        let (out, _) = try s.recovered(.complete, name: "r.db")
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }

    /// Capture that stalls (every online log group waits for archiving) in the middle of
    /// Cairn's checkpoint, while the guardian holds the write lock for it, gives the lock
    /// back: writers go on. (The guardian used to keep the lock until the worker's next
    /// checkpoint, which never came while capture waited, and writers failed with
    /// "database is locked".) Here the guardian runs in this process, on pipes, and commits
    /// are made just before it takes the lock, so the worker's capture under that lock has
    /// more than the free online logs can hold.
    /// Cairn's checkpoint blocks writers only for moments: when its capture stalls (every
    /// group waits for archiving), writers are not left blocked.
    @Test func aCaptureStalledInItsCheckpointGivesTheWriteLockBack() throws {
        let (s, blocked) = try Self.setupWithUnreachableArchive()
        let destination = blocked.destination
        let holder = WALHold(s.db)
        defer { holder.release() }
        Ledger.write(s.db, 3, seed: 5)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        try capturer.step()
        Ledger.write(s.db, 150, seed: 6) // more than both 64 KiB groups hold
        let e = expectCairnError { _ = try capturer.checkpoint(force: true) }
        guard case .captureStalled? = e else { Issue.record("expected the capture to wait for a free group, got \(String(describing: e))"); return }
        // Writers are not blocked: the write lock is free.
        let w = try SQLiteConnection(path: s.db, busyTimeoutMs: 2_000)
        #expect(throws: Never.self) { try w.exec("BEGIN IMMEDIATE") }
        try? w.exec("ROLLBACK")
        w.close()
        Ledger.write(s.db, 5, seed: 7)
        // The destination comes back: everything is captured and recovery equals the source.
        FileSystem.removeFile(destination)
        let archiver = Archiver(database: s.p, logger: quietLogger)
        try captureAll(capturer, archiver, through: 158)
        try capturer.switchLog()
        archiver.archivePending(force: true)
        let (out, _) = try s.recovered(.complete, name: "r.db")
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(s.db)))
    }
}

/// Words a test's stand-in guardian received, in order.
final class Heard: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ w: String) { list.withLock { $0.append(w) } }
    var words: [String] { list.withLock { $0 } }
}

/// Captures until `scn`, archiving whenever capture waits for a free group.
func captureAll(_ capturer: Capturer, _ archiver: Archiver, through scn: UInt64) throws {
    var rounds = 0
    while capturer.scn < scn {
        rounds += 1
        try #require(rounds < 1000, "capture made no progress")
        do throws(EngineError) { _ = try capturer.step() } catch {
            guard case .captureStalled = error else { throw error }
            archiver.archivePending(force: true)
        }
    }
}

extension RecoveryEngine.Result {
    func asTuple(_ path: String) -> (String, RecoveryEngine.Result) { (path, self) }
}
