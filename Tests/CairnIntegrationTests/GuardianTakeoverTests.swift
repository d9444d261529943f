@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// A capture guardian (`cairn archive --follow`) killed with SIGKILL leaves its worker
/// capturing alone; a new guardian pins the WAL, stops the orphan cleanly (or kills it when
/// it does not stop) and starts its own worker. Nothing committed meanwhile is lost.
@Suite struct GuardianTakeoverTests {
    struct Setup {
        let dir = TempDir()
        let db: String
        let base: String
        let log: String
        let p: Catalog
        let statements: [String]

        init(name: String = #function, count: Int) throws {
            db = dir.file("app.db")
            base = dir.file("base.db")
            log = dir.file("follow.log")
            Ledger.create(db, filler: 1000)
            p = try Catalog.initialize(database: db, logger: quietLogger)
            Shell.run(["sqlite3", db, "VACUUM INTO '\(base)'"])
            try p.backup(.quiet())
            statements = Ledger.transferStatements(count, seed: 31)
        }

        /// A guardian whose standard error goes to `log`; its process id is the guardian's.
        func startGuardian() -> Process {
            Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>> \"$2\"", Paths.cairn, db, log])
        }

        /// Runs statements `range` with a TRUNCATE checkpoint every 40, in another process.
        func write(_ range: Range<Int>) {
            var script = "PRAGMA busy_timeout=200;\n"
            for i in range {
                script += statements[i] + "\n"
                if i % 40 == 39 { script += "PRAGMA wal_checkpoint(TRUNCATE);\n" }
            }
            let r = Shell.run(["sqlite3", "-batch", db], input: script)
            #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        }

        func workers() -> [LinuxProcess] { LinuxProcess.all().filter { $0.isRunning && $0.isWorker(of: db) } }

        /// Polls until `condition` holds (true) or `timeout` passes (false).
        func wait(_ timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while !condition() {
                if Date() > deadline { return false }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return true
        }

        func expectedDigest(after n: Int) throws -> String {
            let copy = dir.file("expected-\(n).db")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: base, toPath: copy)
            Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
            return try ContentDigest.compute(copy).digest
        }

        /// No gap, everything captured and archived, and recovery equals the source at the
        /// latest point and at `scns`.
        func expectNothingLost(scns: [Int]) throws {
            let reopened = try Catalog.open(database: db, logger: quietLogger)
            #expect(reopened.control.redo.gaps.isEmpty, "\(reopened.control.redo.gaps)")
            #expect(reopened.redoStatus.scn == UInt64(statements.count))
            #expect(reopened.redoStatus.archivedScn == UInt64(statements.count))
            let latest = dir.file("latest.db")
            let r = try reopened.recover(to: latest, target: .complete)
            #expect(r.scn == UInt64(statements.count))
            #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(db)))
            for n in scns {
                let out = dir.file("scn-\(n).db")
                _ = try reopened.recover(to: out, target: .scn(UInt64(n)))
                #expect(try ContentDigest.compute(out).digest == (try expectedDigest(after: n)), "SCN \(n)")
            }
        }

        var followLog: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    @Test func newGuardianReplacesTheOrphanOfAKilledGuardian() throws {
        let s = try Setup(count: 600)
        let g1 = s.startGuardian()
        #expect(s.wait(10) { s.workers().count == 1 })
        s.write(0..<150)
        guard let w1 = s.workers().first else { Issue.record("no worker"); return }
        #expect(w1.parent == g1.processIdentifier)

        // The guardian dies; its worker is reparented and goes on capturing alone, checkpoints included.
        kill(g1.processIdentifier, SIGKILL)
        g1.waitUntilExit()
        #expect(s.wait(2) { LinuxProcess(w1.pid).map { $0.parent != g1.processIdentifier } ?? false })
        s.write(150..<300)
        #expect(s.wait(5) { s.followLog.contains("capture guardian died") }, "\(s.followLog)")
        #expect(LinuxProcess(w1.pid)?.isRunning == true)

        // A new guardian takes over: the orphan stops cleanly and a worker of its own runs.
        let g2 = s.startGuardian()
        #expect(s.wait(20) { s.workers().map(\.parent) == [g2.processIdentifier] }, "\(s.followLog)")
        #expect(LinuxProcess(w1.pid)?.isRunning != true)
        #expect(s.followLog.contains("lost its guardian"))
        #expect(s.followLog.contains("stopped at SCN 300"), "the orphan captured and archived everything before it stopped: \(s.followLog)")
        s.write(300..<450)

        // While a guardian and its worker run, another guardian is refused at once.
        let t = Date()
        let third = Shell.run([Paths.cairn, "archive", s.db, "--follow"])
        #expect(third.status == 1 && third.stderr.contains("already running"), "\(third.stderr)")
        #expect(Date().timeIntervalSince(t) < 10)

        // Twice in a row, with writes going on while the guardian is replaced.
        kill(g2.processIdentifier, SIGKILL)
        g2.waitUntilExit()
        let writer = Shell.start(["sqlite3", "-batch", s.db], input: "PRAGMA busy_timeout=200;\n" + s.statements[450..<600].joined(separator: "\n"))
        let g3 = s.startGuardian()
        #expect(s.wait(20) { s.workers().map(\.parent) == [g3.processIdentifier] }, "\(s.followLog)")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        kill(g3.processIdentifier, SIGINT)
        g3.waitUntilExit()
        #expect(g3.terminationStatus == 0, "\(s.followLog)")
        #expect(s.workers().isEmpty)
        try s.expectNothingLost(scns: [150, 222, 300, 451])
    }

    /// An orphan that does not stop when asked (here: stopped with SIGSTOP) is killed after
    /// the timeout; the new guardian pinned the WAL first, so the TRUNCATE checkpoints that
    /// follow cannot drop what the orphan had not captured.
    @Test func anOrphanThatDoesNotStopIsKilledUnderTheNewPin() throws {
        let s = try Setup(count: 300)
        let g1 = s.startGuardian()
        #expect(s.wait(10) { s.workers().count == 1 })
        s.write(0..<100)
        guard let w1 = s.workers().first else { Issue.record("no worker"); return }
        kill(g1.processIdentifier, SIGKILL)
        g1.waitUntilExit()
        // Commits the orphan may not have captured yet when it freezes.
        s.write(100..<200)
        kill(w1.pid, SIGSTOP)

        let guardian = try CaptureGuardian(databasePath: s.p.databasePath, logger: quietLogger)
        guardian.captureLockFile = s.p.layout.captureLockFile
        guardian.orphanStopTimeout = 1
        try guardian.replaceOrphans(besides: 0)
        #expect(guardian.pinned)
        // (A killed process stays visible for a moment while it exits.)
        #expect(s.wait(5) { LinuxProcess(w1.pid)?.isRunning != true })
        // Writers and their checkpoints go on; the in-process pin keeps the WAL.
        s.write(200..<250)
        let g2 = s.startGuardian()
        #expect(s.wait(20) { s.workers().map(\.parent) == [g2.processIdentifier] }, "\(s.followLog)")
        guardian.unpin()
        s.write(250..<300)
        kill(g2.processIdentifier, SIGINT)
        g2.waitUntilExit()
        #expect(g2.terminationStatus == 0, "\(s.followLog)")
        try s.expectNothingLost(scns: [100, 199, 240])
    }

    /// A process that opened the control file before another one captured, switched and
    /// archived (a worker waiting for the lock while a backup or `switch-log` captures, a
    /// guardian's new worker while the orphan drains) starts from what that one recorded.
    @Test func aCaptureStartsFromWhatThePreviousLockHolderRecorded() throws {
        let s = try Setup(count: 30)
        let hold = WALHold(s.db) // no capture runs in between: keep the WAL from being checkpointed away
        let opened = try Catalog.open(database: s.db, logger: quietLogger)
        s.write(0..<10)
        let first = Shell.run([Paths.cairn, "archive", s.db, "--once"])
        #expect(first.status == 0, "\(first.stderr)")
        s.write(10..<20)
        let r = try opened.archiveOnce()
        #expect(r.scn == 20 && r.captured == 10)
        s.write(20..<30)
        let last = Shell.run([Paths.cairn, "archive", s.db, "--once"])
        #expect(last.status == 0, "\(last.stderr)")
        hold.release()
        try s.expectNothingLost(scns: [5, 10, 15, 25])
    }

    /// A capture killed after closing a log (trailer written, durable) but before the switch
    /// was recorded in the control file: the next capture records the log as it is, trailer
    /// included, and recovery reads it. (Here the control-file update fails instead of the
    /// process dying; the crash suite kills processes at that moment.)
    @Test func aLogClosedButNotRecordedIsRecordedWithItsTrailer() throws {
        let s = try Setup(count: 20)
        let hold = WALHold(s.db)
        s.write(0..<10)
        do {
            let lock = try s.p.captureLock()
            let capturer = try Capturer(database: s.p, logger: quietLogger)
            try capturer.step()
            for copy in s.p.controlCopies { FaultInjector.shared.add(.init(.rename, pathContains: copy, effect: .fail(EIO))) }
            defer { for copy in s.p.controlCopies { FaultInjector.shared.removeAll(pathContains: copy) } }
            do throws(EngineError) {
                try capturer.switchLog()
                Issue.record("the switch was recorded although no control-file copy could be written")
            } catch {}
            withExtendedLifetime(lock) {}
        }
        s.write(10..<20)
        let r = try s.p.archiveOnce()
        #expect(r.scn == 20)
        hold.release()
        let log1 = try #require(s.p.control.redo.logs.first { $0.sequence == 1 })
        #expect(log1.highScn == 10 && log1.status == .archived)
        try s.expectNothingLost(scns: [5, 10, 15])
    }

    /// A guardian that finds the capture lock held by a capture that is not an orphan
    /// (`archive --follow --no-guardian`) refuses with the usual error.
    @Test func aRunningCaptureIsNotTakenOver() throws {
        let s = try Setup(count: 10)
        let solo = Shell.start([Paths.cairn, "archive", s.db, "--follow", "--no-guardian"])
        defer { kill(solo.processIdentifier, SIGKILL); solo.waitUntilExit() }
        #expect(s.wait(10) { CaptureLock.isHeld(path: s.p.layout.captureLockFile) })
        let r = Shell.run([Paths.cairn, "archive", s.db, "--follow"])
        #expect(r.status == 1 && r.stderr.contains("already running in process \(solo.processIdentifier)"), "\(r.stderr)")
        #expect(LinuxProcess(solo.processIdentifier)?.isRunning == true)
    }
}
