@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// The crash suite: a hostile writer in another process (checkpoints of a random mode every
/// few transactions, a short busy timeout, a random automatic-checkpoint setting) while Cairn
/// captures, archives, checkpoints (a small WAL target, so its own checkpoints run often) and
/// backs up; Cairn processes are killed with SIGKILL at uniformly random moments — capture
/// workers (whatever they are doing, starting up included), guardians (`archive --follow`)
/// from their first instant, during the takeover of an orphaned worker, backups part-way,
/// in-place restores — and started again. At least once per trial a process is killed in the
/// middle of a control-file update on purpose: the rename of one control-file copy is slowed
/// (`CAIRN_FAULTS`) and the process killed while its temporary copy waits, so the copies
/// disagree; each copy must stay whole and the newest must win.
///
/// A process is killed only while another capture process of the database lives (a guardian
/// only while a worker runs, a worker only while its guardian does): as long as one does,
/// nothing may be lost and no gap recorded. Afterwards every transaction is checked: recovery
/// to the latest point and to random SCNs must equal the source's state at each (every
/// restore also passes SQLite's integrity_check), and a killed in-place restore must leave the
/// old database or the new one, never anything else.
///
/// `CAIRN_CRASH_TRIALS` sets the count (2 by default, for CI), `CAIRN_CRASH_FIRST_TRIAL` the first trial; the run prints its seed and
/// `CAIRN_SEED` replays it (each trial's choices derive from it). Odd trials run with
/// encryption on (online and archived logs encrypted); `CAIRN_CRASH_ENCRYPTION=on|off` sets it
/// for every trial.
@Suite struct CrashSuiteTests {
    @Test func killedCairnProcessesLoseNothing() throws {
        let trials = Int(ProcessInfo.processInfo.environment["CAIRN_CRASH_TRIALS"] ?? "") ?? 2
        let seed = TestSeed()
        var tally = CrashTally()
        // CAIRN_CRASH_FIRST_TRIAL replays from one trial on (with the seed that printed it).
        let first = Int(ProcessInfo.processInfo.environment["CAIRN_CRASH_FIRST_TRIAL"] ?? "") ?? 0
        for trial in first..<(first + trials) {
            var trialRun = try CrashTrial(trial: trial, seed: seed.value &+ UInt64(trial) &* 0x9E37_79B9)
            try trialRun.run(&tally)
        }
        print("crash suite (seed \(seed.value)): \(trials) trials, \(tally.kills) processes killed (\(tally.workerKills) capture workers, \(tally.guardianKills) guardians, \(tally.takeoverKills) of them taking over an orphan, \(tally.backupKills) backups part-way, \(tally.controlKills) in the middle of a control-file update (\(tally.splitControl) leaving the copies at different updates), the rest in-place restores or after their update), \(tally.checked) transactions checked, \(tally.gaps) gaps, \(tally.losses) losses")
        #expect(tally.losses == 0 && tally.gaps == 0)
    }
}

struct CrashTally {
    var checked = 0, losses = 0, gaps = 0, kills = 0
    var workerKills = 0, guardianKills = 0, takeoverKills = 0, backupKills = 0, controlKills = 0, splitControl = 0
}

/// One trial of the crash suite.
struct CrashTrial {
    let trial: Int
    var rng: SeededGenerator
    let dir: TempDir
    let db: String, base: String, followLog: String
    let p: Catalog
    let statements: [String]
    let slowCopy: String
    var follow: Process
    var writer: Process
    var guardianKills = 0, controlKills = 0

    /// Whether the trial's repository is encrypted (its logs too): `CAIRN_CRASH_ENCRYPTION`
    /// `on` or `off` for every trial, otherwise every other one (odd trials).
    static func encrypted(_ trial: Int) -> Bool {
        switch ProcessInfo.processInfo.environment["CAIRN_CRASH_ENCRYPTION"] {
        case "on": true
        case "off": false
        default: trial % 2 == 1
        }
    }

    var faults: String { "CAIRN_FAULTS=rename:\(slowCopy):delay=\(ControlKill.delayMs)" }

    init(trial: Int, seed: UInt64) throws {
        self.trial = trial
        rng = SeededGenerator(seed: seed)
        dir = TempDir("crash\(trial)")
        db = dir.file("app.db")
        base = dir.file("base.db")
        followLog = dir.file("follow.log")
        Ledger.create(db, filler: 1500)
        var redo = RedoOptions()
        redo.walTargetBytes = 256 << 10
        p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        if Self.encrypted(trial) {
            // Every Cairn process of the trial finds the key file the repository remembers.
            let key = dir.file("master.key")
            try EncryptionKeyFile.create(key, material: .random())
            try p.enableEncryption(keyFile: key)
        }
        Shell.run(["sqlite3", db, "VACUUM INTO '\(base)'"])
        try p.backup(.quiet())
        statements = Ledger.transferStatements(800, seed: 100 + trial)
        // One control-file copy (alternating per trial) is renamed into place slowly by every
        // Cairn process of the trial, so kills can land between the copies.
        slowCopy = p.controlCopies[trial % p.controlCopies.count]
        follow = Process()
        writer = Process()
        follow = startFollow()
        let started = Date()
        while !followText().contains("capturing") && Date().timeIntervalSince(started) < 30 { usleep(10_000) }
        writer = Shell.start(["sqlite3", "-batch", db], input: hostileScript())
    }

    /// The writer's script: a checkpoint of a random mode every 20 to 80 transactions, a busy
    /// timeout of 100 to 500 ms, automatic checkpoints off, default or frequent.
    mutating func hostileScript() -> String {
        let mode = ["TRUNCATE", "RESTART", "FULL", "PASSIVE", "TRUNCATE"].randomElement(using: &rng)!
        let every = Int.random(in: 20...80, using: &rng)
        let auto = [0, 100, 1000].randomElement(using: &rng)!
        var script = "PRAGMA busy_timeout=\(Int.random(in: 100...500, using: &rng));\nPRAGMA wal_autocheckpoint=\(auto);\n"
        for (i, t) in statements.enumerated() {
            script += t + "\n"
            if i % every == every - 1 { script += "PRAGMA wal_checkpoint(\(mode));\n" }
        }
        return script
    }

    func startFollow() -> Process {
        Shell.start([faults, "sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>> \"$2\"", Paths.cairn, db, followLog])
    }

    func followText() -> String { (try? String(contentsOfFile: followLog, encoding: .utf8)) ?? "" }

    func workers() -> [LinuxProcess] { LinuxProcess.all().filter { $0.isRunning && $0.isWorker(of: db) } }

    // MARK: - Kills

    /// Kills the current guardian's worker, at whatever it is doing.
    mutating func killWorker(_ tally: inout CrashTally) {
        guard follow.isRunning, let w = workers().first(where: { $0.parent == follow.processIdentifier }) else { return }
        if kill(w.pid, SIGKILL) == 0 { tally.kills += 1; tally.workerKills += 1 }
    }

    /// Kills the current guardian (only while a worker of the database lives, its own or an
    /// orphan it is taking over), then starts a new one, which is itself killed at a uniformly
    /// random moment of its first half second with the given chance (a takeover cut short).
    mutating func killGuardian(_ tally: inout CrashTally, chainChance: Double = 0.3) {
        guard follow.isRunning, !workers().isEmpty else { return }
        kill(follow.processIdentifier, SIGKILL)
        follow.waitUntilExit()
        tally.kills += 1; tally.guardianKills += 1; guardianKills += 1
        usleep(UInt32.random(in: 0...300_000, using: &rng))
        follow = startFollow()
        while Double.random(in: 0..<1, using: &rng) < chainChance {
            usleep(UInt32.random(in: 0...500_000, using: &rng))
            guard follow.isRunning, !workers().isEmpty else { break }
            kill(follow.processIdentifier, SIGKILL)
            follow.waitUntilExit()
            tally.kills += 1; tally.guardianKills += 1; tally.takeoverKills += 1; guardianKills += 1
            follow = startFollow()
        }
    }

    /// A backup (level 0 or 1) killed part-way (while reading, writing pieces or recording itself).
    mutating func killBackup(_ tally: inout CrashTally) {
        let level = Bool.random(using: &rng) ? ["--level", "1"] : []
        let b = Shell.start([faults, Paths.cairn, "backup", db, "--max-piece-size", "64K"] + level)
        usleep(UInt32.random(in: 0...300_000, using: &rng))
        if b.isRunning { kill(b.processIdentifier, SIGKILL); tally.kills += 1; tally.backupKills += 1 }
        b.waitUntilExit()
    }

    /// A process killed in the middle of a control-file update: mostly the worker, switching
    /// logs; else a backup recording itself.
    mutating func killMidControlUpdate(_ tally: inout CrashTally, workerChance: Double) {
        let victim: Int32
        var backup: Process?
        if Double.random(in: 0..<1, using: &rng) < workerChance, follow.isRunning,
           let w = workers().first(where: { $0.parent == follow.processIdentifier }) {
            victim = w.pid
            Shell.run([Paths.cairn, "switch-log", db])
        } else {
            let b = Shell.start([faults, Paths.cairn, "backup", db, "--max-piece-size", "64K"])
            victim = b.processIdentifier
            backup = b
        }
        let outcome = ControlKill.kill(victim, copy: slowCopy, timeout: backup == nil ? 3 : 15, rng: &rng)
        backup?.waitUntilExit()
        guard outcome.killed else { return }
        tally.kills += 1
        if outcome.midUpdate { tally.controlKills += 1; controlKills += 1 }
        // Every copy stays whole (old or new, never torn); the newest one wins.
        let usns = p.controlCopies.map(ControlKill.usn)
        #expect(usns.allSatisfy { $0 != nil }, "trial \(trial): a control-file copy is damaged: \(usns)")
        if Set(usns).count > 1 { tally.splitControl += 1 }
        // (Read again: a running capture may have updated the control file since.)
        #expect((ControlFileStore.newestCopy(p.controlCopies)?.usn ?? 0) >= (usns.compactMap { $0 }.max() ?? 0))
    }

    // MARK: - The trial

    mutating func run(_ tally: inout CrashTally) throws {
        var step = 0
        while writer.isRunning {
            usleep(UInt32.random(in: 20_000...200_000, using: &rng))
            step += 1
            let action = step == 1 ? 3 : step == 2 ? 9 : Int.random(in: 0..<10, using: &rng)
            switch action {
            case 0..<3: killWorker(&tally)
            case 3..<5: killGuardian(&tally)
            case 5..<8: killBackup(&tally)
            default: killMidControlUpdate(&tally, workerChance: 0.75)
            }
        }
        writer.waitUntilExit()
        // Each kind at least once per trial, even when the writer finished early.
        if guardianKills == 0 {
            let deadline = Date().addingTimeInterval(30)
            while guardianKills == 0 && Date() < deadline { killGuardian(&tally, chainChance: 0); usleep(50_000) }
        }
        #expect(guardianKills > 0, "trial \(trial): the guardian was never killed")
        for _ in 0..<10 where controlKills == 0 { killMidControlUpdate(&tally, workerChance: 0.5) }
        #expect(controlKills > 0, "trial \(trial): no process was killed in the middle of a control-file update")
        // The last guardian is up (its worker capturing) before it is asked to stop.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, follow.isRunning,
              !workers().contains(where: { w in w.parent == follow.processIdentifier && followText().contains("(worker process \(w.pid))") }) {
            usleep(10_000)
        }
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0, "trial \(trial): \(followText())")
        try check(&tally)
    }

    /// No gap; every recorded backup intact; the latest point, random SCNs and level-1 chains
    /// equal the source; a killed in-place restore leaves the old or the new database.
    mutating func check(_ tally: inout CrashTally) throws {
        let reopened = try Catalog.open(database: db, logger: quietLogger)
        tally.gaps += reopened.control.redo.gaps.count
        #expect(reopened.control.redo.gaps.isEmpty, "trial \(trial): \(reopened.control.redo.gaps)\n\(followText())")
        #expect(try reopened.validate().allSatisfy(\.ok))
        let latest = dir.file("latest.db")
        let r = try reopened.recover(to: latest, target: .complete)
        let latestDigest = try ContentDigest.compute(latest), sourceDigest = try ContentDigest.compute(db)
        if r.scn != UInt64(statements.count) || latestDigest != sourceDigest {
            tally.losses += 1
            Issue.record("trial \(trial): latest recovery reached SCN \(r.scn) of \(statements.count), digest equal: \(latestDigest == sourceDigest)")
        }
        tally.checked += statements.count
        var sampled = Set<Int>()
        while sampled.count < 3 { sampled.insert(Int.random(in: 1...statements.count, using: &rng)) }
        for n in sampled.sorted() {
            let out = dir.file("scn-\(n).db")
            _ = try reopened.recover(to: out, target: .scn(UInt64(n)))
            if try ContentDigest.compute(out).digest != (try expected(n)) {
                tally.losses += 1
                Issue.record("trial \(trial): recovery to SCN \(n) differs from the source at SCN \(n)")
            }
        }
        for b in reopened.backups.filter({ $0.level == 1 }).shuffled(using: &rng).prefix(2) {
            let out = dir.file("l1-\(b.id).db")
            try reopened.restore(to: out, backup: b.id)
            if try ContentDigest.compute(out).digest != (try expected(Int(b.scn))) {
                tally.losses += 1
                Issue.record("trial \(trial): level-1 backup \(b.id) at SCN \(b.scn) differs from the source at that SCN")
            }
        }
        try checkKilledInPlaceRestore(&tally)
    }

    mutating func checkKilledInPlaceRestore(_ tally: inout CrashTally) throws {
        let before = try ContentDigest.compute(db)
        let target = Int.random(in: 1...statements.count, using: &rng)
        let restore = Shell.start([Paths.cairn, "restore", db, "--in-place", "--scn", String(target)])
        usleep(UInt32.random(in: 0...400_000, using: &rng))
        if restore.isRunning { kill(restore.processIdentifier, SIGKILL); tally.kills += 1 }
        restore.waitUntilExit()
        let after = try ContentDigest.compute(db)
        if after != before, after.digest != (try expected(target)) {
            tally.losses += 1
            Issue.record("trial \(trial): killed in-place restore to SCN \(target) left neither the old nor the new database (status \(restore.terminationStatus), reason \(restore.terminationReason.rawValue))")
        }
        #expect(Ledger.check(db).integrity == "ok")
    }

    /// The source's content digest right after transaction `n`.
    func expected(_ n: Int) throws -> String {
        let copy = dir.file("expected-\(n).db")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: base, toPath: copy)
        Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
        return try ContentDigest.compute(copy).digest
    }
}

/// Killing a process in the middle of a control-file update: the rename of one copy is
/// slowed, so the temporary file (named `COPY.tmp-PID-…`, written and fsync'd) waits for it.
enum ControlKill {
    static let delayMs = 40

    /// Waits up to `timeout` for `pid`'s temporary copy of `copy`, then kills it at a random
    /// moment of the slowed rename. `midUpdate`: the temporary copy was still there after the kill.
    static func kill(_ pid: Int32, copy: String, timeout: TimeInterval, rng: inout SeededGenerator) -> (killed: Bool, midUpdate: Bool) {
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
