import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

/// The quickstart: a sample database is protected, written to by another process (the
/// `sqlite3` command-line shell) while an online backup runs, backed up again, destroyed,
/// restored, and the restore is proven equal to the source by content digests.
struct QuickstartDemo {
    let directory: String
    let accounts = 1000
    let initialBalance = 1000

    init(directory: String?) {
        self.directory = FileSystem.absolute(directory ?? NSTemporaryDirectory() + "cairn-quickstart-\(getpid())")
    }

    /// Runs every step, printing through `say`. Returns true when the proof holds.
    func run(say: @escaping (String) -> Void) throws(EngineError) -> Bool {
        FileSystem.removeTree(directory)
        try FileSystem.makeDirectories(directory)
        let db = directory + "/shop.db"
        let logger = Logger(label: "cairn")
        say("1. creating a sample database \(db) with the sqlite3 shell")
        try Self.sqlite3(db, createScript)
        say("   \(Self.mib(FileSystem.fileSize(db) ?? 0)) MiB, \(accounts) accounts holding \(accounts * initialBalance) in total")

        let p = try Catalog.initialize(database: db, logger: logger)
        say("2. cairn init: DBID \(p.control.dbid), incarnation 1, \(p.control.redo.mode.rawValue), repository \(p.layout.root)")
        var options = BackupOptions()
        options.tag = "first"
        let first = try p.backup(options)
        say("   level-0 backup \(first.id) at SCN \(first.scn): \(first.pieces) piece(s), \(Self.mib(first.bytes)) MiB stored, verified")

        say("3. capture starts (every commit into the online logs, archived on switch)")
        let capture = BackgroundCapture(database: p, logger: logger)
        try capture.start()

        say("4. another process transfers money in 3000 transactions; meanwhile cairn takes an online backup")
        let writer = try Self.startSqlite3(db, writerScript(transactions: 3000))
        Thread.sleep(forTimeInterval: 0.3)
        options.tag = "online"
        let online = try p.backup(options)
        let status = Self.wait(writer)
        guard status == 0 else { throw .sqlite(path: db, code: status, message: "the sqlite3 writer exited with status \(status)") }
        say("   online backup \(online.id) at SCN \(online.scn), taken while the writer ran")
        try capture.stop()
        let st = p.redoStatus
        say("   capture stopped cleanly: \(st.scn) transactions captured, archived through SCN \(st.archivedScn) in \(p.control.redo.logs.count) log(s)")

        let before = try ContentDigest.compute(db)
        say("   source digest   \(before.digest) (\(before.rows) rows)")

        say("5. destroying the database")
        for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(db + suffix) }

        say("6. cairn restore: backup \(online.id) + logs, complete recovery (every checksum, the state after every transaction and SQLite's integrity_check verified)")
        let reopened = try Catalog.open(database: db, logger: logger)
        let r = try reopened.recover(to: db, target: .complete)
        say("   restored backup \(r.backupId) and applied \(r.transactionsApplied) transaction(s): database at SCN \(r.scn)" + (r.complete ? ", every captured transaction" : "; INCOMPLETE: \(r.shortfall?.summary ?? "")"))
        let after = try ContentDigest.compute(db)
        say("   restored digest \(after.digest) (\(after.rows) rows)")

        let middle = (online.scn + r.scn) / 2
        let pit = directory + "/shop-at-scn-\(middle).db"
        let m = try reopened.recover(to: pit, target: .scn(middle))
        let total = try Self.sqlite3Output(pit, "SELECT sum(balance) FROM accounts; SELECT count(*) FROM transfers WHERE note LIKE 'transfer %';")
        let lines = total.split(separator: "\n")
        say("7. point in time: restored to SCN \(m.scn) (\(lines.last ?? "?") of the 3000 transfers), total balance \(lines.first ?? "?")")

        let equal = before == after && lines.first.map(String.init) == "\(accounts * initialBalance)"
            && lines.last.map(String.init) == "\(middle - first.scn)"
        say(equal ? "PROOF: source and restored content digests are equal, and the point-in-time copy holds exactly the first \(middle) transactions."
                  : "FAILED: the restore does not match the source.")
        return equal
    }

    var createScript: String {
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL);
        CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER, note TEXT, at INTEGER);
        CREATE INDEX transfers_src ON transfers(src);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(accounts))
          INSERT INTO accounts SELECT i, 'owner-' || i, \(initialBalance) FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
          INSERT INTO transfers SELECT i, i % \(accounts) + 1, (i * 7) % \(accounts) + 1, 0,
            printf('opening entry %d: {"channel":"import","batch":%d,"memo":"sample ledger line"}', i, i / 100), i FROM n;
        """
    }

    func writerScript(transactions: Int) -> String {
        var s = "PRAGMA busy_timeout=60000;\n"
        var r = SystemRandomNumberGenerator()
        for i in 0..<transactions {
            let a = Int.random(in: 1...accounts, using: &r), b = Int.random(in: 1...accounts, using: &r)
            let amount = Int.random(in: 1...50, using: &r)
            s += "BEGIN IMMEDIATE; UPDATE accounts SET balance = balance - \(amount) WHERE id = \(a); "
            s += "UPDATE accounts SET balance = balance + \(amount) WHERE id = \(b); "
            s += "INSERT INTO transfers(src, dst, amount, note, at) VALUES (\(a), \(b), \(amount), 'transfer \(i)', \(i)); COMMIT;\n"
        }
        return s
    }

    /// Runs `CaptureRunner` on a thread of its own until `stop()`. The runner belongs to that
    /// thread; only its stop request is shared.
    final class BackgroundCapture {
        private let database: Catalog
        private let logger: Logger
        private var running: (stop: StopRequest, thread: JoinableThread<EngineError?>)?

        init(database: Catalog, logger: Logger) {
            self.database = database
            self.logger = logger
        }

        func start() throws(EngineError) {
            let runner = CaptureRunner(database: database, logger: logger)
            let stop = runner.stopRequest
            let thread = JoinableThread(name: "cairn quickstart capture", moving: runner) { runner -> EngineError? in
                do throws(EngineError) { try runner.run() } catch { return error }
                return nil
            }
            running = (stop, thread)
            // A capture that cannot start ends at once: say so now rather than at the stop.
            if thread.hasFinished(within: 0.3) {
                running = nil
                if let failure = thread.join() { throw failure }
            }
        }

        func stop() throws(EngineError) {
            guard let (stop, thread) = running else { return }
            running = nil
            stop.request()
            if let failure = thread.join() { throw failure }
        }
    }

    static func mib(_ n: UInt64) -> String { String(format: "%.1f", Double(n) / 1_048_576) }

    static func startSqlite3(_ db: String, _ script: String) throws(EngineError) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", "-batch", db]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .invalidArgument("Could not start the sqlite3 shell (\(error)). Install it (apt-get install sqlite3) and run the quickstart again.")
        }
        let data = Data(script.utf8)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: data)
            try? input.fileHandleForWriting.close()
        }
        return p
    }

    static func wait(_ p: Process) -> Int32 {
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func sqlite3(_ db: String, _ script: String) throws(EngineError) {
        let p = try startSqlite3(db, script)
        let status = wait(p)
        if status != 0 { throw .sqlite(path: db, code: status, message: "the sqlite3 shell exited with status \(status)") }
    }

    static func sqlite3Output(_ db: String, _ sql: String) throws(EngineError) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", "-batch", db, sql]
        let out = Pipe()
        p.standardOutput = out
        do { try p.run() } catch {
            throw .invalidArgument("Could not start the sqlite3 shell (\(error)). Install it (apt-get install sqlite3).")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
