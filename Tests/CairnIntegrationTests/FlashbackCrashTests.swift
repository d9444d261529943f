import Foundation
import Testing
import CairnFormats
import CairnCatalog
import CairnEngines
import CairnTestSupport

/// `cairn flashback` killed at a uniformly random moment of its run: the database is in its
/// old state or at the target (never between), capture goes on from there without a gap, and a
/// restore to the latest point equals the live database. Everything runs through the `cairn`
/// and `sqlite3` commands, so this process never has the database open (flashback refuses a
/// database another process has open).
@Suite(.serialized) struct FlashbackCrashTests {
    let statements = Ledger.transferStatements(90, seed: 41)

    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    /// The content digest of a database, taken by `cairn digest` (a reader in this process
    /// would keep the database open, and flashback refuses an open database).
    func digest(_ path: String) -> String {
        let r = cairn("digest", path, "--json")
        return ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])?["digest"] as? String ?? "none: \(r.stderr)"
    }

    /// Writes statements `range` (a TRUNCATE checkpoint every 40) while `archive --follow` runs,
    /// until capture reaches `scn`.
    func write(_ db: String, _ range: Range<Int>, capturedThrough scn: UInt64, _ note: String) {
        let follow = Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2>> \"$1.follow.log\"", Paths.cairn, db])
        #expect(Await.capture(of: db))
        var script = "PRAGMA busy_timeout=5000;\n"
        for i in range { script += statements[i] + "\n" + (i % 40 == 39 ? "PRAGMA wal_checkpoint(TRUNCATE);\n" : "") }
        let r = Shell.run(["sqlite3", "-batch", db], input: script)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Await.captured(db, through: scn), "\(note): \((try? String(contentsOfFile: db + ".follow.log", encoding: .utf8)) ?? "")")
        kill(follow.processIdentifier, SIGTERM)
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0, "\(note)")
    }

    /// A ledger with 80 transactions captured after its level-0 backup, capture stopped.
    func prepared(_ dir: TempDir) -> String {
        let db = dir.file("app.db")
        Ledger.create(db, filler: 1000)
        #expect(cairn("init", db).status == 0)
        #expect(cairn("backup", db).status == 0)
        write(db, 0..<80, capturedThrough: 80, "setup")
        return db
    }

    /// Slows the rewrite's WAL writes and fsync and the control file's update (debug builds'
    /// fault injection), so the moments that matter fill most of the run, not its last few ms.
    static let slowRewrite = "write:app.db-wal:delay=10;sync:app.db-wal:delay=200;rename:control:delay=100"

    @Test func killedAtAnyMomentLeavesTheOldStateOrTheNewOne() throws {
        var seed = TestSeed()
        // How long a whole flashback takes here: the kill falls anywhere in it.
        let calibrationDir = TempDir("flashbackCrashCalibration")
        let calibration = prepared(calibrationDir)
        let started = Date()
        let whole = Shell.run([Paths.cairn, "flashback", calibration, "--scn", "30"], environment: ["CAIRN_FAULTS": Self.slowRewrite])
        let duration = Date().timeIntervalSince(started)
        #expect(whole.status == 0, "\(whole.stderr)")
        for round in 0..<6 {
            let dir = TempDir("flashbackCrash\(round)")
            let db = prepared(dir)
            let old = digest(db)
            #expect(cairn("restore", db, "--scn", "30", "--to", dir.file("at30.db")).status == 0)
            let new = digest(dir.file("at30.db"))
            let delay = Double.random(in: 0...duration, using: &seed.rng)
            let p = Shell.start(["CAIRN_FAULTS=\(Self.slowRewrite)", Paths.cairn, "flashback", db, "--scn", "30"])
            // The seeded random moment of the kill, or the end of the run if that comes first.
            _ = Await.until(delay) { !p.isRunning }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let now = digest(db)
            #expect(now == old || now == new, "round \(round), killed after \(delay) s: the database is neither before nor at the target")
            let incarnation = try Catalog.open(database: db, logger: quietLogger).control.incarnation
            // Flashed back (incarnation 2 from SCN 30, its transactions numbered from 81 on);
            // or the rewrite durable but not yet recorded, which capture takes as one more
            // transaction of incarnation 1; or nothing done.
            let asTransaction = incarnation == 1 && now == new
            let expected: UInt64 = asTransaction ? 86 : 85
            print("round \(round): killed after \(String(format: "%.3f", delay)) of \(String(format: "%.3f", duration)) s: "
                  + (incarnation == 2 ? "flashed back" : asTransaction ? "rewritten, recorded as a transaction" : "unchanged"))
            write(db, 80..<85, capturedThrough: expected, "round \(round)")
            let after = try Catalog.open(database: db, logger: quietLogger)
            #expect(after.control.redo.gaps.isEmpty, "round \(round): \(after.control.redo.gaps)")
            #expect(after.redoStatus.scn == expected, "round \(round)")
            let latest = dir.file("latest.db")
            #expect(cairn("restore", db, "--to", latest).status == 0)
            #expect(digest(latest) == digest(db), "round \(round)")
        }
    }
}
