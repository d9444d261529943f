@testable import CairnCore
import Foundation
import Testing

/// The crash suite: a writer in another process (with TRUNCATE checkpoints) while Cairn
/// captures, archives and backs up; Cairn processes are killed with SIGKILL at random
/// moments — the capture worker, backups (and so their control-file updates), in-place
/// restores — and restarted. Afterwards every transaction is checked: recovery to the
/// latest point and to random SCNs must equal the source's state at each, and a killed
/// in-place restore must leave the old database or the new one, never anything else.
/// `CAIRN_CRASH_TRIALS` sets the count (2 by default, for CI).
@Suite struct CrashSuiteTests {
    @Test func killedCairnProcessesLoseNothing() throws {
        let trials = Int(ProcessInfo.processInfo.environment["CAIRN_CRASH_TRIALS"] ?? "") ?? 2
        var checked = 0, losses = 0, kills = 0
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
            let follow = Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2> \"$2\"", Paths.cairn, db, followLog])
            Thread.sleep(forTimeInterval: 0.4)
            let writer = Shell.start(["sqlite3", "-batch", db], input: script)
            while writer.isRunning {
                Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.25, using: &rng))
                if Bool.random(using: &rng) {
                    if Shell.run(["pkill", "-9", "-f", "\(db) --follow --worker"]).status == 0 { kills += 1 }
                } else {
                    // A backup (level 0 or 1) killed part-way (while reading, writing pieces or recording itself).
                    let level = Bool.random(using: &rng) ? ["--level", "1"] : []
                    let b = Shell.start([Paths.cairn, "backup", db, "--max-piece-size", "64K"] + level)
                    Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.3, using: &rng))
                    if b.isRunning { kill(b.processIdentifier, SIGKILL); kills += 1 }
                    b.waitUntilExit()
                }
            }
            writer.waitUntilExit()
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
            let r = try reopened.recover(to: latest, target: .latestArchived, showProgress: false)
            let latestDigest = try ContentDigest.compute(latest), sourceDigest = try ContentDigest.compute(db)
            if r.scn != UInt64(statements.count) || latestDigest != sourceDigest {
                losses += 1
                Issue.record("trial \(trial): latest recovery reached SCN \(r.scn) of \(statements.count), digest equal: \(latestDigest == sourceDigest)")
            }
            checked += statements.count
            for n in (0..<3).map({ _ in Int.random(in: 1...statements.count, using: &rng) }) {
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
        print("crash suite: \(trials) trials, \(kills) processes killed, \(checked) transactions checked, \(losses) losses")
        #expect(losses == 0)
    }
}
