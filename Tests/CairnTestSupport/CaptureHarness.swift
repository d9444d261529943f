import CairnFormats
import CairnCatalog
import CairnEngines
import Foundation
import Testing

/// A registered ledger database with `archive --follow` run as the user would run it, a
/// writer in another process, and the checks every capture test ends with: no gap where
/// none may be, and every restore equal to the source and passing `integrity_check`.
package struct CaptureHarness {
    package let dir: TempDir
    package let db: String
    let base: String
    let log: String
    package let p: Catalog
    package let statements: [String]

    package init(name: String = #function, count: Int, seed: Int = 41, filler: Int = 1000, redo: RedoOptions = RedoOptions()) throws {
        dir = TempDir(name)
        db = dir.file("app.db")
        base = dir.file("base.db")
        log = dir.file("follow.log")
        Ledger.create(db, filler: filler)
        p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        Shell.run(["sqlite3", db, "VACUUM INTO '\(base)'"])
        try p.backup(.quiet())
        statements = Ledger.transferStatements(count, seed: seed)
    }

    /// `cairn archive DB --follow` (a guardian and its worker) with standard error appended to `log`.
    package func startFollow(_ extra: [String] = []) -> Process {
        let args = extra.map { "\"\($0)\"" }.joined(separator: " ")
        return Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow \(args) 2>> \"$2\"", Paths.cairn, db, log])
    }

    package var followLog: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    package func workers() -> [LinuxProcess] { LinuxProcess.all().filter { $0.isRunning && $0.isWorker(of: db) } }

    /// Polls until `condition` holds (true) or `timeout` passes (false).
    package func wait(_ timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    /// Waits until a capture of this database has captured through `scn` (read from the
    /// online logs, as `cairn status` does).
    package func waitCaptured(_ scn: Int, timeout: TimeInterval = 30) -> Bool {
        wait(timeout) { ((try? Catalog.open(database: db, logger: quietLogger))?.redoStatus.scn ?? 0) >= UInt64(scn) }
    }

    /// The writer script for statements `range`: a checkpoint of `mode` every `every`
    /// transactions, with the given busy timeout.
    package func script(_ range: Range<Int>, checkpoint mode: String = "TRUNCATE", every: Int = 40, busyTimeoutMs: Int = 5000) -> String {
        var s = "PRAGMA busy_timeout=\(busyTimeoutMs);\n"
        for i in range {
            s += statements[i] + "\n"
            if every > 0 && i % every == every - 1 { s += "PRAGMA wal_checkpoint(\(mode));\n" }
        }
        return s
    }

    /// Runs `script` with the sqlite3 shell; returns the checkpoint rows (busy, log, checkpointed).
    @discardableResult
    package func write(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) -> [(busy: Int, log: Int, done: Int)] {
        let r = Shell.run(["sqlite3", "-batch", db], input: script)
        #expect(r.status == 0 && r.stderr.isEmpty, "writer: \(r.stderr)", sourceLocation: sourceLocation)
        return Self.checkpointRows(r.stdout)
    }

    static func checkpointRows(_ out: String) -> [(busy: Int, log: Int, done: Int)] {
        out.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|").compactMap { Int($0) }
            return f.count == 3 ? (f[0], f[1], f[2]) : nil
        }
    }

    /// The content digest the database must have right after transaction `n`.
    package func expectedDigest(after n: Int) throws -> String {
        let copy = dir.file("expected-\(n).db")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: base, toPath: copy)
        let r = Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
        precondition(r.status == 0, r.stderr)
        return try ContentDigest.compute(copy).digest
    }

    /// Stops a follow process with SIGTERM and waits for it; its exit status.
    @discardableResult
    package func stop(_ follow: Process) -> Int32 {
        kill(follow.processIdentifier, SIGTERM)
        follow.waitUntilExit()
        return follow.terminationStatus
    }

    /// No gap; everything captured and archived; recovery to the latest point equals the live
    /// database and recovery to each of `scns` equals the source right after it; every restore
    /// passes `integrity_check`.
    package func expectNothingLost(total: Int, scns: [Int], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reopened = try Catalog.open(database: db, logger: quietLogger)
        #expect(reopened.control.redo.gaps.isEmpty, "gaps: \(reopened.control.redo.gaps)", sourceLocation: sourceLocation)
        #expect(reopened.redoStatus.scn == UInt64(total), "captured", sourceLocation: sourceLocation)
        let latest = dir.file("latest.db")
        try? FileManager.default.removeItem(atPath: latest)
        let r = try reopened.recover(to: latest, target: .latestCaptured)
        #expect(r.scn == UInt64(total), sourceLocation: sourceLocation)
        #expect(Ledger.check(latest).integrity == "ok", sourceLocation: sourceLocation)
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(db)), sourceLocation: sourceLocation)
        for n in scns {
            let out = dir.file("scn-\(n).db")
            try? FileManager.default.removeItem(atPath: out)
            _ = try reopened.recover(to: out, target: .scn(UInt64(n)))
            #expect(Ledger.check(out).integrity == "ok", "SCN \(n)", sourceLocation: sourceLocation)
            #expect(try ContentDigest.compute(out).digest == (try expectedDigest(after: n)), "SCN \(n)", sourceLocation: sourceLocation)
        }
    }
}

/// The seed of a randomized test: `CAIRN_SEED` when set (to replay a run), else a new one;
/// printed either way.
package struct TestSeed {
    package let value: UInt64
    package var rng: SeededGenerator

    package init(_ name: String = #function) {
        if let s = ProcessInfo.processInfo.environment["CAIRN_SEED"], let v = UInt64(s) {
            value = v
        } else {
            value = UInt64.random(in: 1...UInt64(UInt32.max))
        }
        rng = SeededGenerator(seed: value)
        print("\(name): seed \(value) (replay with CAIRN_SEED=\(value))")
    }
}

/// A small deterministic generator (SplitMix64) so randomized tests replay from their seed.
package struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
