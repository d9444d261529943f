@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Synchronization
import Testing

/// Any two Cairn commands on one database run at once (invariant 10): each completes or
/// waits for the other, neither fails for the other's sake or damages its work. Every command
/// is a real `cairn` process, while a `sqlite3` process writes and, in most tests,
/// `cairn archive --follow` captures.
@Suite(.serialized) struct ConcurrentCommandTests {
    // MARK: - Two control-file updates at once

    /// Two catalogs of one database (two processes' views) update the control file from two
    /// threads, many times within each clock tick: no update is lost. Each update reads the
    /// copies again only when one changed since its catalog last read or wrote them.
    @Test func controlFileUpdatesFromTwoCatalogsAreNeverLost() throws {
        let s = try Scene(capture: false, writer: false)
        let catalogs = try (0..<2).map { _ in try Catalog.open(database: s.db, logger: quietLogger) }
        let start = catalogs[0].control.redo.switchRequests ?? 0
        let failures = Mutex<[String]>([])
        let perThread = 150
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            for _ in 0..<perThread {
                do throws(EngineError) {
                    try catalogs[k].transact { $0.redo.switchRequests = ($0.redo.switchRequests ?? 0) + 1 }
                } catch { failures.withLock { $0.append(error.description) } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let reopened = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(reopened.control.redo.switchRequests == start + UInt64(2 * perThread))
        #expect(catalogs.allSatisfy { $0.control.redo.switchRequests == start + UInt64(2 * perThread) })
    }

    // MARK: - Two backups at once

    /// Pairs of backups of every kind started together, a few rounds: each exits 0, every id
    /// is distinct, and every backup recorded validates and restores.
    @Test func twoBackupsStartedTogetherGetDistinctIdsAndEveryOneRestores() throws {
        let seed = Seeded.seed()
        print("twoBackupsStartedTogether: seed \(seed) (replay with CAIRN_SEED=\(seed))")
        var rng = Seeded(seed)
        let s = try Scene(capture: true)
        let kinds: [[String]] = [[], ["--level", "1"], ["--level", "1", "--cumulative"], ["--as-copy"], ["--archivelog"]]
        var taken = 0
        for round in 0..<4 {
            let pair = [kinds[rng.next(kinds.count)], kinds[rng.next(kinds.count)]]
            let runs = pair.map { s.start(["backup", s.db, "--json"] + $0) }
            for (kind, run) in zip(pair, runs) {
                let out = run.finish()
                #expect(out.status == 0, "round \(round), backup \(kind): \(out.stderr)")
                if out.stdout.contains("\"id\"") { taken += 1 }
            }
        }
        s.stopWriterAndCapture()
        let ids = try s.backupIds()
        #expect(Set(ids).count == ids.count, "ids \(ids)")
        #expect(ids.count == taken + 1)
        try s.expectEveryBackupRestores()
        s.expectNoLeftovers()
    }

    // MARK: - A backup beside each other command

    /// A backup (level 0 or 1) started together with each other command, with capture
    /// running and the writer writing: both exit 0, and afterwards everything restores.
    @Test func aBackupRunsBesideEveryOtherCommand() throws {
        let s = try Scene(capture: true, catalogCopy: true)
        #expect(s.cairn("configure", s.db, "retention", "redundancy", "2").status == 0)
        let out = s.dir.file("restored")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let others: [[String]] = [
            ["delete", "obsolete", s.db], ["delete", "expired", s.db], ["crosscheck", s.db, "--json"], ["validate", s.db],
            ["restore-point", s.db, "create", "rp1"], ["restore-point", s.db, "create", "rp2", "--guarantee"],
            ["restore-point", s.db, "drop", "rp1"], ["catalog", "add", s.db, s.copy],
            ["configure", s.db, "retention", "redundancy", "1"], ["configure", s.db, "show"],
            ["restore", s.db, "--to", out + "/to.db"], ["restore", s.db, "--validate"],
            ["report", "need-backup", s.db], ["report", "obsolete", s.db], ["report", "space", s.db], ["report", "schema", s.db],
            ["status", s.db], ["list", "backups", s.db], ["list", "logs", s.db], ["restore-point", s.db, "list"],
            ["backup", s.db, "--archivelog", "--delete-input"],
        ]
        for (i, other) in others.enumerated() {
            let backup = s.start(["backup", s.db] + (i % 2 == 0 ? [] : ["--level", "1"]))
            let command = s.start(other)
            let b = backup.finish(), c = command.finish()
            #expect(b.status == 0, "backup beside \(other): \(b.stderr)")
            #expect(c.status == 0, "\(other) beside a backup: \(c.stderr)")
        }
        #expect(Ledger.check(out + "/to.db").total == Ledger.accounts * 1000)
        s.stopWriterAndCapture()
        try s.expectEveryBackupRestores()
        s.expectNoLeftovers()
    }

    /// `restore --in-place` (alone on the database) and `catalog rebuild` (alone on the
    /// control file) wait for a running backup, and a backup waits for them.
    @Test func restoreInPlaceAndCatalogRebuildWaitForBackupsAndBackupsForThem() throws {
        let s = try Scene(capture: false, writer: false)
        let slowBackup = ["CAIRN_FAULTS": "write:/.partial-:delay=600"]
        let slowReads = ["CAIRN_FAULTS": "read:/backups/:delay=300"]
        for exclusive in [["restore", s.db, "--in-place", "--backup", "1"], ["catalog", "rebuild", s.db]] {
            // The backup first: the exclusive command waits for it, and says so.
            let backup = s.start(["backup", s.db], environment: slowBackup)
            try s.waitForPartial()
            let alone = s.start(exclusive)
            let b = backup.finish(), a = alone.finish()
            #expect(b.status == 0 && a.status == 0, "\(exclusive) after a backup: \(b.stderr) \(a.stderr)")
            #expect(a.stderr.contains("waiting to") && a.stderr.contains("cairn backup"), "\(a.stderr)")
            // The exclusive command first: the backup waits for it.
            let first = s.start(exclusive, environment: slowReads)
            try s.waitUntil("\(exclusive) holds the repository", timeout: 30) { !LockHolders.holders(s.layout.operationLockFile).isEmpty }
            let then = s.start(["backup", s.db])
            let x = first.finish(), y = then.finish()
            #expect(x.status == 0 && y.status == 0, "a backup after \(exclusive): \(x.stderr) \(y.stderr)")
        }
        let ids = try s.backupIds()
        #expect(Set(ids).count == ids.count && ids.count >= 5, "ids \(ids)")
        #expect(s.cairn("validate", s.db).status == 0)
        s.expectNoLeftovers()
    }

    /// A level 1 being written pins its base: `delete obsolete`, which finds that base
    /// obsolete meanwhile, waits (saying so) until the level 1 is recorded, and deletes the
    /// whole chain only then. No base of a running level 1 is ever removed.
    @Test func aDeletionWaitsWhileALevelOneIsWrittenOnItsBase() throws {
        let s = try Scene(capture: true)
        #expect(s.cairn("configure", s.db, "retention", "redundancy", "1").status == 0)
        let base = try #require(try s.backupIds().last)
        let level1 = s.start(["backup", s.db, "--level", "1", "--json"], environment: ["CAIRN_FAULTS": "write:/.partial-:delay=1500"])
        try s.waitForPartial()
        #expect(s.cairn("backup", s.db).status == 0)          // the base is obsolete now
        let delete = s.start(["delete", "obsolete", s.db, "--json"])
        try s.waitUntil("delete obsolete says it waits", timeout: 30) { delete.stderrSoFar.contains("waiting to delete obsolete") }
        #expect(FileSystem.isDirectory(s.layout.backupDirectory(base)), "the base of the running level 1 was removed")
        let l1 = level1.finish(), d = delete.finish()
        #expect(l1.status == 0, "\(l1.stderr)")
        #expect(d.status == 0, "\(d.stderr)")
        #expect(d.stderr.contains("pins/backup-\(base).lock"), "\(d.stderr)")
        let l1Id = UInt64(try #require(s.object(l1.stdout)?["id"] as? Int))
        let deleted = (s.object(d.stdout)?["backups"] as? [Int])?.map(UInt64.init) ?? []
        #expect(deleted.contains(base) && deleted.contains(l1Id), "deleted \(deleted)")
        s.stopWriterAndCapture()
        try s.expectEveryBackupRestores()
    }

    /// Making room in the recovery area deletes nothing another command uses. Capture's way
    /// (before archiving a log) never waits for such a command: it deletes something else or
    /// gives up at once; a backup's way waits, as its policy allows, for readers to finish.
    @Test func makingRoomDeletesNothingInUseAndCaptureNeverWaitsForIt() throws {
        let s = try Scene(capture: false, writer: false)
        let p = try Catalog.open(database: s.db, logger: quietLogger)
        try p.setRetention(.redundancy(1))
        let first = try #require(p.backups.first?.id)
        try p.backup(.quiet())                                  // the first backup is obsolete now
        let used = p.recoveryArea.measure(p.control).total
        func makeRoom(waiting: Bool) throws(EngineError) { _ = try p.makeRoom(1, limit: used, control: p.control, waitForReaders: waiting) }

        // A level 1 being written on it has pinned it.
        let pin = try LockFile.create(p.layout.pinFile(backup: first))
        #expect(pin.tryLock(.shared))
        var started = Date()
        guard case .recoveryAreaFull? = expectCairnError({ try makeRoom(waiting: false) }) else { Issue.record("room was made"); return }
        #expect(Date().timeIntervalSince(started) < 5 && FileSystem.isDirectory(p.layout.backupDirectory(first)))
        pin.close()

        // A command reads stored files: capture deletes nothing and does not wait; a backup waits.
        let reader = try LockFile.create(p.layout.filesLockFile)
        try reader.lock(.shared, policy: .noWait, purpose: "read", log: { _ in })
        started = Date()
        guard case .recoveryAreaFull? = expectCairnError({ try makeRoom(waiting: false) }) else { Issue.record("room was made"); return }
        #expect(Date().timeIntervalSince(started) < 5 && FileSystem.isDirectory(p.layout.backupDirectory(first)))
        p.lockWait = .noWait
        guard case .lockNotAcquired? = expectCairnError({ try makeRoom(waiting: true) }) else { Issue.record("the backup's way did not wait"); return }
        reader.close()

        // Nothing in use: the obsolete backup goes.
        try makeRoom(waiting: true)
        #expect(!FileSystem.exists(p.layout.backupDirectory(first)) && !p.control.backups.contains { $0.id == first })
    }

    // MARK: - Leftovers

    /// A partial backup directory whose writer is alive survives the cleanup every backup
    /// does first; one whose writer was SIGKILLed is removed by the next backup.
    @Test func aLiveWritersPartialSurvivesCleanupAndADeadOnesIsRemoved() throws {
        let s = try Scene(capture: false)
        let slow = s.start(["backup", s.db], environment: ["CAIRN_FAULTS": "write:/.partial-:delay=1000"])
        let partial = try s.waitForPartial()
        #expect(s.cairn("backup", s.db).status == 0)
        #expect(slow.isRunning && FileSystem.isDirectory(partial), "a live writer's partial directory was removed")
        #expect(slow.finish().status == 0)

        let doomed = s.start(["backup", s.db], environment: ["CAIRN_FAULTS": "write:/.partial-:delay=1000"])
        let dead = try s.waitForPartial()
        doomed.kill(SIGKILL)
        _ = doomed.finish()
        #expect(FileSystem.isDirectory(dead) && FileSystem.exists(dead + RepositoryLayout.ownerLockSuffix))
        #expect(s.cairn("backup", s.db).status == 0)
        #expect(!FileSystem.exists(dead) && !FileSystem.exists(dead + RepositoryLayout.ownerLockSuffix))
        s.stopWriterAndCapture()
        let ids = try s.backupIds()
        #expect(Set(ids).count == ids.count)
        try s.expectEveryBackupRestores()
    }

    /// The rule itself, in this process: a claimed id's partial directory survives while the
    /// claim lives, and goes at the next cleanup once the claim is let go.
    @Test func aPartialIsRemovedOnlyOnceItsOwnerLetsGo() throws {
        let s = try Scene(capture: false, writer: false)
        let p = try Catalog.open(database: s.db, logger: quietLogger)
        let owner = try p.claimBackupId()
        try owner.makeDirectory()
        try FileSystem.atomicWrite([1, 2, 3], to: owner.partialDirectory + "/piece-0001.cbp")
        BackupLeftovers.remove(layout: p.layout, logger: quietLogger)
        #expect(FileSystem.exists(owner.partialDirectory + "/piece-0001.cbp"))
        let other = try p.backup(.quiet())
        #expect(other.id > owner.id && FileSystem.isDirectory(owner.partialDirectory))
        // As if the owner died: its lock goes, the directory stays.
        let dir = owner.partialDirectory
        let lock = p.layout.partialOwnerLock(owner.id)
        let keep = dir + ".kept"
        try FileSystem.rename(dir, keep)
        owner.release()
        try FileSystem.rename(keep, dir)
        #expect(!FileSystem.exists(lock))
        BackupLeftovers.remove(layout: p.layout, logger: quietLogger)
        #expect(!FileSystem.exists(dir) && !FileSystem.exists(lock))
    }

    // MARK: - Read-only commands

    /// `status` in a loop while another process updates the control file: it always reads a
    /// whole, current control file, and never changes a copy (inode, mtime, content), not even
    /// a stale one, which the next update rewrites. Other read-only commands write nothing.
    @Test func readOnlyCommandsWriteNothing() throws {
        let s = try Scene(capture: false, writer: false)
        let updater = s.start(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do \(Paths.cairn) configure \(s.db) retention redundancy $((i % 3 + 1)) >/dev/null || exit 1; done"], raw: true)
        var during = 0
        while updater.isRunning {
            let st = s.cairn("status", s.db, "--json")
            #expect(st.status == 0, "\(st.stderr)")
            #expect(s.object(st.stdout)?["dbid"] != nil && !st.stderr.contains("rewr"), "\(st.stderr)")
            during += 1
        }
        #expect(updater.finish().status == 0)
        #expect(during > 0)
        for i in 0..<4 {
            #expect(s.cairn("configure", s.db, "retention", "redundancy", String(i + 1)).status == 0)
            let before = try s.controlCopiesState()
            #expect(s.cairn("status", s.db).status == 0)
            #expect(try s.controlCopiesState() == before, "status changed a control copy")
        }
        // Everything else that only reads: the repository and the copies stay as they are.
        let restored = s.dir.file("elsewhere.db")
        let readers: [[String]] = [
            ["status", s.db, "--json"], ["list", "backups", s.db], ["list", "logs", s.db], ["list", "incarnations", s.db],
            ["report", "need-backup", s.db], ["report", "obsolete", s.db], ["report", "space", s.db], ["report", "schema", s.db],
            ["configure", s.db, "show"], ["restore-point", s.db, "list"], ["validate", s.db], ["restore", s.db, "--validate"],
            ["restore", s.db, "--to", restored],
        ]
        let tree = try s.repositoryState()
        for r in readers {
            let out = s.cairn(r)
            #expect(out.status == 0, "\(r): \(out.stderr)")
            #expect(try s.repositoryState() == tree, "\(r) changed the repository")
        }
        // A stale copy is reported and left as it is; the next update rewrites it.
        let copies = try Catalog.open(database: s.db, logger: quietLogger).controlCopies
        let old = try FileSystem.readAll(copies[1])
        #expect(s.cairn("configure", s.db, "retention", "redundancy", "3").status == 0)
        try FileSystem.atomicWrite(old, to: copies[1])
        let stale = try s.controlCopiesState()
        let st = s.cairn("status", s.db)
        #expect(st.stdout.contains("stale") && st.status == 0)
        #expect(try s.controlCopiesState() == stale)
        #expect(s.cairn("configure", s.db, "retention", "redundancy", "1").status == 0)
        #expect(try FileSystem.readAll(copies[1]) == (try FileSystem.readAll(copies[0])))
    }

    // MARK: - Waiting

    /// While another process holds the repository's operation lock exclusively: `--no-wait`
    /// fails at once with exit status 75 naming the lock and the process; `--wait 1` gives up
    /// after a second; a plain command says after a second what it waits for, and succeeds
    /// once the lock is let go.
    @Test func noWaitFailsFastAndAWaitSaysWhatItWaitsFor() throws {
        let s = try Scene(capture: false, writer: false)
        let layout = s.layout
        let held = try LockFile.create(layout.operationLockFile)
        try held.lock(.exclusive, policy: .noWait, purpose: "hold", log: { _ in })
        let started = Date()
        let noWait = s.cairn("backup", s.db, "--no-wait")
        #expect(noWait.status == ExitStatus.lockNotAcquired, "\(noWait.stderr)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(noWait.stderr.contains(layout.operationLockFile) && noWait.stderr.contains("process \(getpid())"), "\(noWait.stderr)")
        #expect(noWait.stderr.contains("--no-wait"))
        let t = Date()
        let short = s.cairn("validate", s.db, "--wait", "1")
        #expect(short.status == ExitStatus.lockNotAcquired, "\(short.stderr)")
        #expect(Date().timeIntervalSince(t) >= 1)
        #expect(short.stderr.contains("gave up after waiting"))

        let waiting = s.start(["crosscheck", s.db])
        try s.waitUntil("the 1-second message", timeout: 30) { waiting.stderrSoFar.contains("waiting to crosscheck") }
        #expect(waiting.isRunning)
        #expect(waiting.stderrSoFar.contains(layout.operationLockFile))
        held.close()
        let done = waiting.finish()
        #expect(done.status == 0, "\(done.stderr)")
        #expect(s.cairn("backup", s.db, "--no-wait").status == 0)
    }

    /// A real command holding the lock: `restore --in-place --no-wait` beside a slowed
    /// `validate` fails at once naming it; `catalog rebuild` waits for a running capture and
    /// gives up at its `--wait`.
    @Test func commandsWaitingForOtherCommandsNameThem() throws {
        let s = try Scene(capture: false, writer: false)
        #expect(s.cairn("configure", s.db, "retention", "redundancy", "1").status == 0)
        #expect(s.cairn("backup", s.db).status == 0)          // the first backup is obsolete now
        let validate = s.start(["validate", s.db], environment: ["CAIRN_FAULTS": "read:/backups/:delay=200"])
        try s.waitUntil("validate reads", timeout: 30) { !LockHolders.holders(s.layout.filesLockFile).isEmpty }
        let inPlace = s.cairn("restore", s.db, "--in-place", "--no-wait")
        #expect(inPlace.status == ExitStatus.lockNotAcquired, "\(inPlace.stderr)")
        #expect(inPlace.stderr.contains("cairn validate"), "\(inPlace.stderr)")
        let obsolete = s.cairn("delete", "obsolete", s.db, "--no-wait")
        #expect(obsolete.status == ExitStatus.lockNotAcquired, "\(obsolete.stderr)")
        #expect(obsolete.stderr.contains(s.layout.filesLockFile) && obsolete.stderr.contains("cairn validate"), "\(obsolete.stderr)")
        #expect(try s.backupIds().count == 2, "nothing may be deleted while it is read")
        validate.kill(SIGKILL)
        _ = validate.finish()

        let capture = s.start(["archive", s.db, "--follow"])
        try s.waitUntil("capture runs", timeout: 30) { CaptureLock.isHeld(path: s.layout.captureLockFile) }
        let rebuild = s.cairn("catalog", "rebuild", s.db, "--wait", "2")
        #expect(rebuild.status == ExitStatus.lockNotAcquired, "\(rebuild.stderr)")
        #expect(rebuild.stderr.contains("capture process"), "\(rebuild.stderr)")
        capture.kill(SIGTERM)
        #expect(capture.finish().status == 0)
        #expect(s.cairn("catalog", "rebuild", s.db, "--no-wait").status == 0)
    }
}

// MARK: - Scene

extension ConcurrentCommandTests {
    /// A registered database with one backup, a `sqlite3` writer and, with `capture`,
    /// `cairn archive --follow` running; both are stopped when the scene ends.
    final class Scene {
        let dir: TempDir
        let db: String
        let copy: String
        var layout: RepositoryLayout { RepositoryLayout(root: RepositoryLayout.defaultRoot(forDatabase: db)) }
        private var writer: Process?
        private var capture: Background?
        /// Whether `archive --follow` captured every commit since the scene began.
        let captured: Bool

        init(name: String = #function, capture: Bool, writer: Bool = true, catalogCopy: Bool = false) throws {
            dir = TempDir(name)
            captured = capture || !writer
            db = dir.file("app.db")
            copy = dir.file("copy.db")
            Ledger.create(db, filler: 3000)
            try #require(Shell.run([Paths.cairn, "init", db, "--archive-timeout", "1"]).status == 0)
            Ledger.write(db, 20, seed: 7)
            try #require(Shell.run([Paths.cairn, "archive", db, "--once"]).status == 0)
            if catalogCopy {
                // A copy made outside Cairn while nothing writes: all captured, then checkpointed.
                try #require(Shell.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
                try #require(Shell.run(["cp", db, copy]).status == 0)
            }
            try #require(Shell.run([Paths.cairn, "backup", db]).status == 0)
            if capture {
                self.capture = Background([Paths.cairn, "archive", db, "--follow"], environment: [:])
                try waitUntil("capture runs", timeout: 30) { CaptureLock.isHeld(path: layout.captureLockFile) }
            }
            if writer { self.writer = Ledger.startWriter(db, 1_000_000, seed: 11) }
        }

        deinit { stopWriterAndCapture() }

        /// Runs `cairn ARGS` to completion.
        func cairn(_ args: String...) -> Shell.Output { cairn(args) }
        func cairn(_ args: [String]) -> Shell.Output { Shell.run([Paths.cairn] + args) }

        /// Starts `cairn ARGS` (or, `raw`, the program ARGS) in the background.
        func start(_ args: [String], environment: [String: String] = [:], raw: Bool = false) -> Background {
            Background(raw ? args : [Paths.cairn] + args, environment: environment)
        }

        /// Kills the writer (a transaction cut short rolls back) and stops capture with
        /// SIGTERM, which captures and archives everything committed first.
        func stopWriterAndCapture() {
            if let w = writer {
                kill(w.processIdentifier, SIGKILL)
                w.waitUntilExit()
                writer = nil
            }
            if let c = capture {
                c.kill(SIGTERM)
                let out = c.finish()
                #expect(out.status == 0, "archive --follow: \(out.stderr)")
                capture = nil
            }
        }

        func object(_ s: String) -> [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] }

        func backupRows() throws -> [[String: Any]] {
            let r = cairn("list", "backups", db, "--json")
            try #require(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        }

        func backupIds() throws -> [UInt64] {
            try backupRows().compactMap { ($0["id"] as? Int).map(UInt64.init) }
        }

        /// Every backup validates; every database backup restores as it is to a consistent
        /// ledger; with capture running to the end, the latest archived point restores to
        /// exactly the live database (without, the writer's checkpoints left gaps).
        func expectEveryBackupRestores() throws {
            let v = cairn("validate", db)
            #expect(v.status == 0, "\(v.stdout) \(v.stderr)")
            for row in try backupRows() where row["kind"] as? String != "archivedLogs" {
                let id = try #require(row["id"] as? Int)
                let out = dir.file("backup-\(id).db")
                let r = cairn("restore", db, "--backup", String(id), "--to", out)
                #expect(r.status == 0, "backup \(id): \(r.stderr)")
                let check = Ledger.check(out)
                #expect(check.total == Ledger.accounts * 1000 && check.integrity == "ok", "backup \(id): \(check)")
            }
            guard captured else { return }
            let latest = dir.file("latest.db")
            let r = cairn("restore", db, "--to", latest)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(db)))
        }

        /// No partial backup, interrupted deletion or partial owner lock is left behind.
        func expectNoLeftovers() {
            let names = FileSystem.list(layout.backupsDirectory).filter { $0.hasPrefix(".") }
            #expect(names.isEmpty, "leftovers: \(names)")
        }

        /// Waits until a backup's partial directory exists; returns its path.
        @discardableResult
        func waitForPartial() throws -> String {
            var found: String?
            try waitUntil("a partial backup directory", timeout: 60) {
                found = FileSystem.list(layout.backupsDirectory).first { $0.hasPrefix(RepositoryLayout.partialPrefix) && !$0.hasSuffix(RepositoryLayout.ownerLockSuffix) }
                return found != nil
            }
            return layout.backupsDirectory + "/" + found!
        }

        func waitUntil(_ what: String, timeout: TimeInterval, _ condition: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(timeout)
            while !condition() {
                try #require(Date() < deadline, "timed out waiting for \(what)")
                Thread.sleep(forTimeInterval: 0.01)
            }
        }

        /// Inode, modification time and content of every control-file copy and the catalog.
        func controlCopiesState() throws -> [String] {
            let p = try Catalog.open(database: db, logger: quietLogger)
            return try (p.controlCopies + [layout.root + "/catalog.json"]).map { path in
                var st = stat()
                try #require(stat(path, &st) == 0, "\(path)")
                let content = Hash.hex(try FileSystem.hashFile(path))
                return "\(path) \(st.st_ino) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(content)"
            }
        }

        /// Every entry of the repository and the copy beside the database, with inode, size,
        /// modification time and content.
        func repositoryState() throws -> [String] {
            var out = try controlCopiesState()
            let root = layout.root
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                var st = stat()
                guard lstat(root + "/" + rel, &st) == 0 else { continue }
                let isFile = (st.st_mode & S_IFMT) == S_IFREG
                let content = isFile ? Hash.hex(try FileSystem.hashFile(root + "/" + rel)) : "-"
                out.append("\(rel) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(content)")
            }
            return out.sorted()
        }
    }

    /// A process run in the background whose output is collected as it comes.
    final class Background {
        let process = Process()
        private let out: OutputCollector
        private let err: OutputCollector

        init(_ args: [String], environment: [String: String]) {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = args
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let o = Pipe(), e = Pipe()
            process.standardOutput = o
            process.standardError = e
            process.standardInput = FileHandle.nullDevice
            out = OutputCollector(o.fileHandleForReading)
            err = OutputCollector(e.fileHandleForReading)
            try! process.run()
        }

        var isRunning: Bool { process.isRunning }
        var stderrSoFar: String { err.soFar }

        func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

        func finish() -> Shell.Output {
            process.waitUntilExit()
            return Shell.Output(status: process.terminationStatus, stdout: out.finish(), stderr: err.finish())
        }
    }

    /// Reads a pipe on its own thread; what has arrived can be looked at any time.
    final class OutputCollector: Sendable {
        private let data = Mutex(Data())
        private let done = DispatchSemaphore(value: 0)

        init(_ h: FileHandle) {
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = h.availableData
                    if chunk.isEmpty { break }
                    data.withLock { $0.append(chunk) }
                }
                done.signal()
            }
        }

        var soFar: String { data.withLock { String(decoding: $0, as: UTF8.self) } }

        func finish() -> String {
            done.wait()
            return soFar
        }
    }

    /// A small seeded generator (SplitMix64), so a randomized run can be replayed.
    struct Seeded {
        private var state: UInt64
        init(_ seed: UInt64) { state = seed }

        static func seed() -> UInt64 {
            ProcessInfo.processInfo.environment["CAIRN_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        }

        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }
}
