@testable import CairnCore
import Foundation
import Testing

/// The crash suite: a writer in another process (with TRUNCATE checkpoints) while Cairn
/// captures, archives and backs up; Cairn processes are killed with SIGKILL at random
/// moments — the capture worker, the guardian (`archive --follow`, then started again: it
/// takes over from the orphaned worker), backups, in-place restores — and restarted. At
/// least once per trial a process is killed in the middle of a control-file update on
/// purpose: the rename of one control-file copy is slowed (`CAIRN_FAULTS`) and the process
/// killed while its temporary copy waits, so the copies disagree; each copy must stay whole
/// and the newest must win. Afterwards every transaction is checked: recovery to the
/// latest point and to random SCNs must equal the source's state at each, and a killed
/// in-place restore must leave the old database or the new one, never anything else.
/// `CAIRN_CRASH_TRIALS` sets the count (2 by default, for CI).
@Suite struct CrashSuiteTests {
    @Test func killedCairnProcessesLoseNothing() throws {
        let trials = Int(ProcessInfo.processInfo.environment["CAIRN_CRASH_TRIALS"] ?? "") ?? 2
        var checked = 0, losses = 0, kills = 0
        var workerKills = 0, guardianKills = 0, backupKills = 0, controlKills = 0, splitControl = 0
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<trials {
            let dir = TempDir("crash\(trial)")
            let db = dir.file("app.db"), base = dir.file("base.db")
            Ledger.create(db, filler: 1500)
            let p = try ProtectedDatabase.initialize(database: db, logger: quietLogger)
            Shell.run(["sqlite3", db, "VACUUM INTO '\(base)'"])
            try p.backup(.quiet())
            let statements = Ledger.transferStatements(800, seed: 100 + trial)
            var script = "PRAGMA busy_timeout=200;\n"
            for (i, t) in statements.enumerated() {
                script += t + "\n"
                if i % 50 == 49 { script += "PRAGMA wal_checkpoint(TRUNCATE);\n" }
            }
            let followLog = dir.file("follow.log")
            // One control-file copy (alternating per trial) is renamed into place slowly by
            // every Cairn process of the trial, so kills can land between the copies.
            let slowCopy = p.controlCopies[trial % p.controlCopies.count]
            let faults = "CAIRN_FAULTS=rename:\(slowCopy):delay=\(ControlKill.delayMs)"
            func startFollow() -> Process {
                Shell.start([faults, "sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>> \"$2\"", Paths.cairn, db, followLog])
            }
            var follow = startFollow()
            Thread.sleep(forTimeInterval: 0.4)
            let writer = Shell.start(["sqlite3", "-batch", db], input: script)
            var trialGuardianKills = 0, trialControlKills = 0
            func followText() -> String { (try? String(contentsOfFile: followLog, encoding: .utf8)) ?? "" }
            /// The current guardian's worker, once it has captured since it started (it says so
            /// after its first step; before that only the guardian's pin covers what it has not captured).
            func establishedWorker() -> LinuxProcess? {
                guard let w = LinuxProcess.all().first(where: { $0.isRunning && $0.isWorker(of: db) && $0.parent == follow.processIdentifier }),
                      followText().contains("(worker process \(w.pid))") else { return nil }
                return w
            }
            /// Kills the guardian while its worker is established, leaves the orphan alone for a
            /// moment (TRUNCATE checkpoints go on), then starts a new guardian and waits until it
            /// has pinned the WAL and begun taking over. Killing the guardian while its worker is
            /// dead or starting would leave no process pinning the WAL: capture would not be
            /// running, and a checkpoint could then drop commits (a gap, recorded as such) —
            /// that is two failures at once, which no design survives.
            @discardableResult func killGuardian(wait: TimeInterval = 0) -> Bool {
                let deadline = Date().addingTimeInterval(wait)
                var orphan = establishedWorker()
                while orphan == nil && Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                    orphan = establishedWorker()
                }
                guard let orphan else { return false }
                kill(follow.processIdentifier, SIGKILL)
                follow.waitUntilExit()
                kills += 1; guardianKills += 1; trialGuardianKills += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.3, using: &rng))
                follow = startFollow()
                let until = Date().addingTimeInterval(15)
                while Date() < until, LinuxProcess(orphan.pid)?.isRunning == true,
                      !followText().contains("capture worker \(orphan.pid) of") {
                    Thread.sleep(forTimeInterval: 0.01)
                }
                return true
            }
            func killMidControlUpdate(workerChance: Double) {
                let victim: Int32
                var backup: Process?
                if Double.random(in: 0..<1, using: &rng) < workerChance, let pid = CaptureLock.holder(path: p.layout.captureLockFile),
                   LinuxProcess(pid)?.isWorker(of: db) == true {
                    // The capture worker, switching logs (recording the closed log and the capture point).
                    victim = pid
                    Shell.run([Paths.cairn, "switch-log", db])
                } else {
                    // A backup, recording itself (or anything else it records first).
                    let b = Shell.start([faults, Paths.cairn, "backup", db, "--max-piece-size", "64K"])
                    victim = b.processIdentifier
                    backup = b
                }
                let outcome = ControlKill.kill(victim, copy: slowCopy, timeout: backup == nil ? 3 : 15, rng: &rng)
                backup?.waitUntilExit()
                guard outcome.killed else { return }
                kills += 1
                if outcome.midUpdate { controlKills += 1; trialControlKills += 1 }
                // Every copy stays whole (old or new, never torn); the newest one wins.
                let usns = p.controlCopies.map(ControlKill.usn)
                #expect(usns.allSatisfy { $0 != nil }, "trial \(trial): a control-file copy is damaged: \(usns)")
                if Set(usns).count > 1 { splitControl += 1 }
                #expect(ControlFileStore.newestCopy(p.controlCopies)?.usn == usns.compactMap { $0 }.max())
            }
            var step = 0
            while writer.isRunning {
                Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.25, using: &rng))
                step += 1
                let action = step == 1 ? 3 : step == 2 ? 9 : Int.random(in: 0..<10, using: &rng)
                switch action {
                case 0..<3:
                    if Shell.run(["pkill", "-9", "-f", "\(db) --follow --worker"]).status == 0 { kills += 1; workerKills += 1 }
                case 3..<5:
                    killGuardian(wait: 1)
                case 5..<8:
                    // A backup (level 0 or 1) killed part-way (while reading, writing pieces or recording itself).
                    let level = Bool.random(using: &rng) ? ["--level", "1"] : []
                    let b = Shell.start([faults, Paths.cairn, "backup", db, "--max-piece-size", "64K"] + level)
                    Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.3, using: &rng))
                    if b.isRunning { kill(b.processIdentifier, SIGKILL); kills += 1; backupKills += 1 }
                    b.waitUntilExit()
                default:
                    // Mostly the worker while the writer runs: a backup takes longer to reach its record.
                    killMidControlUpdate(workerChance: 0.75)
                }
            }
            writer.waitUntilExit()
            // Each kind at least once per trial, even when the writer finished early.
            if trialGuardianKills == 0 { killGuardian(wait: 30) }
            #expect(trialGuardianKills > 0, "trial \(trial): the guardian was never killed")
            for _ in 0..<10 where trialControlKills == 0 { killMidControlUpdate(workerChance: 0.5) }
            #expect(trialControlKills > 0, "trial \(trial): no process was killed in the middle of a control-file update")
            kill(follow.processIdentifier, SIGINT)
            follow.waitUntilExit()
            #expect(follow.terminationStatus == 0, "\((try? String(contentsOfFile: followLog, encoding: .utf8)) ?? "")")
            let reopened = try ProtectedDatabase.open(database: db, logger: quietLogger)
            #expect(reopened.control.redo.gaps.isEmpty, "trial \(trial): \(reopened.control.redo.gaps)")
            // Every recorded backup is intact; no partial backup was left recorded.
            #expect(try reopened.validate(showProgress: false).allSatisfy(\.ok))
            // Every transaction reachable: the latest point and random SCNs.
            func expected(_ n: Int) throws -> String {
                let copy = dir.file("expected-\(n).db")
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: base, toPath: copy)
                Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
                return try ContentDigest.compute(copy).digest
            }
            let latest = dir.file("latest.db")
            let r = try reopened.recover(to: latest, target: .complete, showProgress: false)
            let latestDigest = try ContentDigest.compute(latest), sourceDigest = try ContentDigest.compute(db)
            if r.scn != UInt64(statements.count) || latestDigest != sourceDigest {
                losses += 1
                Issue.record("trial \(trial): latest recovery reached SCN \(r.scn) of \(statements.count), digest equal: \(latestDigest == sourceDigest)")
            }
            checked += statements.count
            var sampled = Set<Int>()
            while sampled.count < 3 { sampled.insert(Int.random(in: 1...statements.count, using: &rng)) }
            for n in sampled.sorted() {
                let out = dir.file("scn-\(n).db")
                _ = try reopened.recover(to: out, target: .scn(UInt64(n)), showProgress: false)
                if try ContentDigest.compute(out).digest != (try expected(n)) {
                    losses += 1
                    Issue.record("trial \(trial): recovery to SCN \(n) differs from the source at SCN \(n)")
                }
            }
            // Level-1 backups restore, through their chains, to exactly their SCN.
            for b in reopened.backups.filter({ $0.level == 1 }).shuffled(using: &rng).prefix(2) {
                let out = dir.file("l1-\(b.id).db")
                try reopened.restore(to: out, backup: b.id, showProgress: false)
                if try ContentDigest.compute(out).digest != (try expected(Int(b.scn))) {
                    losses += 1
                    Issue.record("trial \(trial): level-1 backup \(b.id) at SCN \(b.scn) differs from the source at that SCN")
                }
            }
            // An in-place restore killed at a random moment leaves the old or the new database.
            let before = try ContentDigest.compute(db)
            let target = Int.random(in: 1...statements.count, using: &rng)
            let restore = Shell.start([Paths.cairn, "restore", db, "--in-place", "--scn", String(target)])
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.4, using: &rng))
            if restore.isRunning { kill(restore.processIdentifier, SIGKILL); kills += 1 }
            restore.waitUntilExit()
            let after = try ContentDigest.compute(db)
            let wanted = try expected(target)
            if after != before, after.digest != wanted {
                losses += 1
                Issue.record("trial \(trial): killed in-place restore to SCN \(target) left neither the old nor the new database (status \(restore.terminationStatus), reason \(restore.terminationReason.rawValue))")
            }
            #expect(Ledger.check(db).integrity == "ok")
        }
        print("crash suite: \(trials) trials, \(kills) processes killed (\(workerKills) capture workers, \(guardianKills) guardians, \(backupKills) backups part-way, \(controlKills) in the middle of a control-file update (\(splitControl) leaving the copies at different updates), the rest in-place restores or after their update), \(checked) transactions checked, \(losses) losses")
        #expect(losses == 0)
    }
}

/// Killing a process in the middle of a control-file update: the rename of one copy is
/// slowed, so the temporary file (named `COPY.tmp-PID-…`, written and fsync'd) waits for it.
enum ControlKill {
    static let delayMs = 40

    /// Waits up to `timeout` for `pid`'s temporary copy of `copy`, then kills it at a random
    /// moment of the slowed rename. `midUpdate`: the temporary copy was still there after the kill.
    static func kill(_ pid: Int32, copy: String, timeout: TimeInterval, rng: inout SystemRandomNumberGenerator) -> (killed: Bool, midUpdate: Bool) {
        let dir = FileSystem.parent(of: copy)
        let prefix = (copy as NSString).lastPathComponent + ".tmp-\(pid)-"
        func pending() -> Bool { FileSystem.list(dir).contains { $0.hasPrefix(prefix) } }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, LinuxProcess(pid)?.isRunning == true {
            if pending() {
                usleep(UInt32.random(in: 0...UInt32(delayMs * 1000), using: &rng))
                guard Glibc.kill(pid, SIGKILL) == 0 else { return (false, false) }
                while LinuxProcess(pid)?.isRunning == true { usleep(1000) }
                return (true, pending())
            }
            usleep(1000)
        }
        return (false, false)
    }

    /// The update number of one control-file copy; nil when it does not read as a whole document.
    static func usn(_ path: String) -> UInt64? {
        guard let bytes = try? FileSystem.readAll(path),
              let doc = try? CheckedDocument.decode(bytes, kind: ControlFileStore.kind, maxVersion: FormatVersion.controlFile, file: path) else { return nil }
        return doc.usn
    }
}
