import CairnFormats
import CairnCatalog
import CairnEngines
import Foundation
import Logging
import Testing

/// A scratch directory removed when the test ends.
package final class TempDir {
    package let path: String
    package init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "cairn-test-\(safe)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    /// A directory at a fixed path, emptied first (for fixtures that name absolute paths).
    package init(at fixed: String) {
        path = fixed
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    package func file(_ name: String) -> String { path + "/" + name }
}

package enum Shell {
    package struct Output {
        package let status: Int32
        package let stdout: String
        package let stderr: String
        package init(status: Int32, stdout: String, stderr: String) { self.status = status; self.stdout = stdout; self.stderr = stderr }
    }

    /// Runs a program to completion, feeding `input` on standard input.
    @discardableResult
    package static func run(_ args: [String], input: String? = nil, environment: [String: String]? = nil) -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        launch(p, input: input)
        let errData = ErrReader(err.fileHandleForReading)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: errData.finish())
    }

    /// Starts a program in the background (a writer in another process).
    package static func start(_ args: [String], input: String? = nil) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        launch(p, input: input)
        return p
    }

    /// Starts `p`, feeding `input` (if any) on its standard input from another thread.
    private static func launch(_ p: Process, input: String?) {
        let inp = Pipe()
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        // A child killed before it read all its input must not take the test process with it.
        signal(SIGPIPE, SIG_IGN)
        try! p.run()
        if let input {
            let data = Data(input.utf8)
            Thread.detachNewThread {
                try? inp.fileHandleForWriting.write(contentsOf: data)
                try? inp.fileHandleForWriting.close()
            }
        }
    }
}

/// Drains a pipe on its own thread so a chatty child cannot block.
package final class ErrReader: Sendable {
    private let reading: JoinableThread<Data>
    init(_ h: FileHandle) {
        reading = JoinableThread(name: "test pipe reader") { h.readDataToEndOfFile() }
    }
    /// What the pipe held, once it ended (once).
    func finish() -> String {
        String(decoding: reading.join(), as: UTF8.self)
    }
}

/// Sample databases with an invariant that only holds at transaction boundaries:
/// the balances of all accounts always sum to `accounts * 1000`.
package enum Ledger {
    package static let accounts = 200

    package static func create(_ db: String, filler: Int = 5000) {
        let script = """
        PRAGMA journal_mode=WAL;
        CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
        CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INT, dst INT, amount INT, note TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < \(accounts)) INSERT INTO accounts SELECT i, 1000 FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < \(filler))
          INSERT INTO transfers SELECT i, i % \(accounts) + 1, 1, 0, printf('filler %d %s', i, hex(randomblob(40))) FROM n;
        """
        let r = Shell.run(["sqlite3", "-batch", db], input: script)
        precondition(r.status == 0, r.stderr)
    }

    /// `count` transfer transactions (one SQL line each, atomic), deterministic for a seed.
    package static func transferStatements(_ count: Int, seed: Int = 1) -> [String] {
        var x = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        func next(_ n: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(n)) }
        return (0..<count).map { i in
            let a = next(accounts) + 1, b = next(accounts) + 1, amt = next(50) + 1
            return "BEGIN IMMEDIATE; UPDATE accounts SET balance=balance-\(amt) WHERE id=\(a); UPDATE accounts SET balance=balance+\(amt) WHERE id=\(b); INSERT INTO transfers(src,dst,amount,note) VALUES(\(a),\(b),\(amt),'s\(seed) t\(i) \(String(repeating: "x", count: next(300)))'); COMMIT;"
        }
    }

    /// SQL for `count` transfer transactions, optionally with a TRUNCATE checkpoint every few.
    static func transfers(_ count: Int, seed: Int = 1, checkpointEvery: Int = 0) -> String {
        var s = "PRAGMA busy_timeout=60000;\n"
        for (i, t) in transferStatements(count, seed: seed).enumerated() {
            s += t + "\n"
            if checkpointEvery > 0 && i % checkpointEvery == checkpointEvery - 1 { s += "PRAGMA wal_checkpoint(TRUNCATE);\n" }
        }
        return s
    }

    package static func write(_ db: String, _ count: Int, seed: Int = 1) {
        let r = Shell.run(["sqlite3", "-batch", db], input: transfers(count, seed: seed))
        precondition(r.status == 0, r.stderr)
    }

    package static func startWriter(_ db: String, _ count: Int, seed: Int = 1, checkpointEvery: Int = 0) -> Process {
        Shell.start(["sqlite3", "-batch", db], input: transfers(count, seed: seed, checkpointEvery: checkpointEvery))
    }

    /// Total balance and integrity check of a database.
    package static func check(_ db: String) -> (total: Int, integrity: String, transfers: Int) {
        let r = Shell.run(["sqlite3", "-batch", db, "SELECT sum(balance) FROM accounts; PRAGMA integrity_check; SELECT count(*) FROM transfers;"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        return (Int(lines.first ?? "") ?? -1, lines.count > 1 ? lines[1] : r.stderr, lines.count > 2 ? Int(lines[2]) ?? -1 : -1)
    }
}

package enum Paths {
    /// The package root (two levels above this file's folder).
    package static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// ../shared/workload.py beside the project, when present.
    package static var workload: String? {
        let p = packageRoot + "/../shared/workload.py"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// The built `cairn` executable beside the test bundle.
    package static var cairn: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/cairn",
            packageRoot + "/.build/debug/cairn",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }
}

package let quietLogger: Logger = {
    var l = Logger(label: "cairn-test")
    l.logLevel = .critical
    return l
}()

extension BackupOptions {
    package static func quiet(_ change: (inout BackupOptions) -> Void = { _ in }) -> BackupOptions {
        var o = BackupOptions()
        change(&o)
        return o
    }
}

/// Runs `body` expecting a `EngineError`; returns it (or records a failure).
package func expectCairnError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> EngineError? {
    do {
        try body()
        Issue.record("expected an error, none was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as EngineError {
        return e
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A read transaction held open, as a running capture holds one: while it lasts SQLite can
/// neither checkpoint past it nor restart the WAL, so writes made meanwhile stay capturable.
package final class WALHold {
    private let c: SQLiteConnection
    package init(_ db: String) {
        c = try! SQLiteConnection(path: db, readOnly: true)
        try! c.exec("BEGIN")
        _ = try! c.scalar("SELECT count(*) FROM sqlite_master")
    }
    package func release() {
        try? c.exec("ROLLBACK")
        c.close()
    }
    deinit { release() }
}

/// A small tmpfs mounted for one test (a real file system that fills up); needs root.
package final class SmallFileSystem {
    package let path: String
    package init(at path: String, size: String) throws {
        self.path = path
        try FileSystem.makeDirectories(path)
        let m = Shell.run(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        try #require(m.status == 0, "mounting a tmpfs needs root: \(m.stderr)")
    }
    deinit { Shell.run(["umount", path]) }
}

/// Waiting for another process: polling with a deadline, never a fixed sleep.
package enum Await {
    /// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false),
    /// without blocking a thread of the cooperative pool (services under test need them).
    package static func eventually(_ timeout: TimeInterval = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !(await condition()) {
            if Date() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false).
    @discardableResult
    package static func until(_ timeout: TimeInterval = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// Until a capture of `db` (e.g. `cairn archive DB --follow`) holds its capture lock: from
    /// then on every commit is captured.
    @discardableResult
    package static func capture(of db: String, timeout: TimeInterval = 30) -> Bool {
        guard let p = try? Catalog.open(database: db, logger: quietLogger) else { return false }
        return until(timeout) { CaptureLock.isHeld(path: p.layout.captureLockFile) }
    }

    /// Until capture has captured through `scn` (as `cairn status` reads it).
    @discardableResult
    package static func captured(_ db: String, through scn: UInt64, timeout: TimeInterval = 30) -> Bool {
        until(timeout) { ((try? Catalog.open(database: db, logger: quietLogger))?.redoStatus.scn ?? 0) >= scn }
    }
}
