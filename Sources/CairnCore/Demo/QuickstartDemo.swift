import Foundation
import Logging

/// The quickstart: a sample database is protected, written to by another process (the
/// `sqlite3` command-line shell) while an online backup runs, backed up again, destroyed,
/// restored, and the restore is proven equal to the source by content digests.
public struct QuickstartDemo {
    public let directory: String
    let accounts = 1000
    let initialBalance = 1000

    public init(directory: String?) {
        self.directory = FileSystem.absolute(directory ?? NSTemporaryDirectory() + "cairn-quickstart-\(getpid())")
    }

    /// Runs every step, printing through `say`. Returns true when the proof holds.
    public func run(say: (String) -> Void) throws(CairnError) -> Bool {
        FileSystem.removeTree(directory)
        try FileSystem.makeDirectories(directory)
        let db = directory + "/shop.db"
        say("1. creating a sample database \(db) with the sqlite3 shell")
        try Self.sqlite3(db, createScript)
        say("   \(Self.mib(FileSystem.fileSize(db) ?? 0)) MiB, \(accounts) accounts holding \(accounts * initialBalance) in total")

        let p = try ProtectedDatabase.initialize(database: db, logger: Logger(label: "cairn"))
        say("2. cairn init: DBID \(p.control.dbid), incarnation 1, repository \(p.layout.root)")

        say("3. another process transfers money in 3000 transactions while cairn takes an online backup")
        let writer = try Self.startSqlite3(db, writerScript(transactions: 3000))
        Thread.sleep(forTimeInterval: 0.2)
        var options = BackupOptions()
        options.tag = "online"
        let online = try p.backup(options)
        let status = Self.wait(writer)
        guard status == 0 else { throw .sqlite(path: db, code: status, message: "the sqlite3 writer exited with status \(status)") }
        say("   backup \(online.id): SCN \(online.scn), \(online.pieces) piece(s), \(Self.mib(online.bytes)) MiB stored, verified")

        let check = directory + "/online-check.db"
        try p.restore(to: check, backup: online.id, showProgress: false)
        let total = try Self.sqlite3Output(check, "SELECT sum(balance) FROM accounts; PRAGMA integrity_check;")
        say("   the online backup restores to a consistent state: total balance \(total.split(separator: "\n").first ?? ""), integrity \(total.split(separator: "\n").last ?? "")")
        guard total == "\(accounts * initialBalance)\nok" else {
            say("   FAILED: the online backup is not transaction-consistent")
            return false
        }

        options.tag = "final"
        let final = try p.backup(options)
        say("4. backup \(final.id) after the writer finished: SCN \(final.scn)")
        let before = try ContentDigest.compute(db)
        say("   source digest   \(before.digest) (\(before.rows) rows)")

        say("5. destroying the database")
        for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(db + suffix) }

        say("6. cairn restore from backup \(final.id) (every page and piece checksum verified before the file is handed out)")
        let reopened = try ProtectedDatabase.open(database: db, logger: Logger(label: "cairn"))
        try reopened.restoreInPlace(backup: final.id, showProgress: false)
        let after = try ContentDigest.compute(db)
        say("   restored digest \(after.digest) (\(after.rows) rows)")
        let equal = before == after
        say(equal ? "PROOF: source and restored content digests are equal." : "FAILED: the digests differ.")
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

    static func mib(_ n: UInt64) -> String { String(format: "%.1f", Double(n) / 1_048_576) }

    static func startSqlite3(_ db: String, _ script: String) throws(CairnError) -> Process {
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
            input.fileHandleForWriting.write(data)
            try? input.fileHandleForWriting.close()
        }
        return p
    }

    static func wait(_ p: Process) -> Int32 {
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func sqlite3(_ db: String, _ script: String) throws(CairnError) {
        let p = try startSqlite3(db, script)
        let status = wait(p)
        if status != 0 { throw .sqlite(path: db, code: status, message: "the sqlite3 shell exited with status \(status)") }
    }

    static func sqlite3Output(_ db: String, _ sql: String) throws(CairnError) -> String {
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
