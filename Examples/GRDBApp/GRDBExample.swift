// A small GRDB application protected by Cairn in-process: it writes, is captured commit by
// commit, and restores its database as it was at a point in time.
//
//   swift run cairn-grdb-example [DIRECTORY]
//
// Prints what it does; exits 0 when the restored database holds exactly the rows written
// before the chosen point.
import CairnGRDB
import Cairn
import Foundation
import GRDB

@main
struct GRDBExample {
    static func main() async throws {
        let dir = CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory() + "cairn-grdb-example-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/notes.db"
        let pool = try DatabasePool(path: path)          // GRDB's defaults: WAL, busy mode = immediate error
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS note(id INTEGER PRIMARY KEY, body TEXT NOT NULL, at REAL NOT NULL)")
        }

        let protection = try await CairnProtection.start(pool: pool)
        print("protecting \(path): DBID \(protection.database.dbid), repository \(protection.database.repositoryPath)")

        for i in 1...50 {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO note(body, at) VALUES (?, ?)", arguments: ["note \(i)", Date().timeIntervalSince1970])
            }
        }
        let noon = Date()                                 // the point to go back to: after note 50 committed, before note 51
        for i in 51...100 {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO note(body, at) VALUES (?, ?)", arguments: ["note \(i)", Date().timeIntervalSince1970])
            }
        }
        try await protection.stop()
        print("captured through SCN \(protection.capturedScn)")

        let restoredPath = dir + "/notes-before.db"
        let r = try await protection.restore(to: restoredPath, at: .time(noon), progress: nil)
        let restored = try DatabaseQueue(path: restoredPath)
        let rows = try await restored.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM note") ?? -1 }
        let live = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM note") ?? -1 }
        print("restored to SCN \(r.scn) (\(r.transactionsApplied) transactions applied): \(rows) notes; the live database has \(live)")
        guard rows == 50, live == 100 else {
            print("error: expected 50 restored notes and 100 live ones")
            exit(1)
        }
        print("ok")
    }
}
