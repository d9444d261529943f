// CairnGRDB: an application that uses a GRDB DatabasePool, protected in-process.
import Cairn
import CairnGRDB
import CairnTestSupport
import Foundation
import GRDB
import Logging
import Testing

@Suite struct GRDBAdapterTests {
    static let logger: Logger = { var l = Logger(label: "grdb-test"); l.logLevel = ProcessInfo.processInfo.environment["CAIRN_TEST_DEBUG"] != nil ? .debug : .critical; return l }()

    /// The WAL's last valid frame as the WAL index's header records it (`mxFrame`): it falls
    /// back to 0 when a writer restarts the WAL, which the file's size never shows.
    static func walFrames(_ path: String) -> UInt32 {
        guard let h = FileHandle(forReadingAtPath: path + "-shm") else { return 0 }
        defer { try? h.close() }
        guard (try? h.seek(toOffset: 16)) != nil, let d = try? h.read(upToCount: 4), d.count == 4 else { return 0 }
        return d.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    /// The application stays at GRDB's defaults (busy mode: an immediate error). While it
    /// writes from several tasks, Cairn captures every commit, takes level-0 and level-1
    /// backups and checkpoints (through the pool's writer): not one write fails with
    /// SQLITE_BUSY (616 of 1,600 did when Cairn took the locks on connections of its own),
    /// the WAL keeps being restarted although SQLite's automatic checkpoint is off (the WAL
    /// hook replaces it), and a restore gives back exactly what the application wrote.
    @Test func anApplicationAtGRDBDefaultsNeverSeesBusyAndEveryCommitIsCaptured() async throws {
        let dir = TempDir()
        let path = dir.file("app.db")
        let pool = try DatabasePool(path: path)
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE item(id INTEGER PRIMARY KEY, writer INT, body BLOB)")
        }
        let protection = try await CairnProtection.start(pool: pool, registration: Registration(walTargetBytes: 128 << 10), logger: Self.logger)
        let writers = 4, perWriter = 400
        var failures: [String] = []
        try await withThrowingTaskGroup(of: [String].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var failed: [String] = []
                    for i in 0..<perWriter {
                        do {
                            try await pool.write { db in
                                try db.execute(sql: "INSERT INTO item(writer, body) VALUES (?, randomblob(3000))", arguments: [w])
                            }
                        } catch {
                            failed.append("writer \(w) txn \(i): \(error)")
                        }
                    }
                    return failed
                }
            }
            group.addTask {
                for level in [0, 1, 1, 0, 1] {
                    try await protection.backup(BackupRequest(level: level))
                }
                return []
            }
            for try await r in group { failures += r }
        }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
        // Cairn's checkpoints take over from SQLite's automatic one: once capture has caught
        // up with the application's writes, the WAL is copied into the database and the next
        // commit restarts it (its last frame falls back to the start). While an application
        // writes faster than capture follows, the WAL grows: Cairn's checkpoint never makes
        // the application's commits wait, as SQLite's own does.
        for _ in 0..<800 {
            try await pool.write { db in try db.execute(sql: "INSERT INTO item(writer, body) VALUES (9, randomblob(3000))") }
        }
        let expected = UInt64(writers * perWriter + 800)
        #expect(await Await.eventually { protection.capturedScn == expected })
        var extra = 0
        let restarted = await Await.eventually {
            extra += 1
            try? await pool.write { db in try db.execute(sql: "INSERT INTO item(writer, body) VALUES (9, randomblob(3000))") }
            return Self.walFrames(path) < 10
        }
        #expect(restarted, "the WAL holds \(Self.walFrames(path)) frames")
        try await protection.stop()
        #expect(protection.capturedScn == expected + UInt64(extra))
        let r = try await protection.restore(to: dir.file("restored.db"))
        #expect(r.complete && r.integrityChecked)
        let restored = try DatabaseQueue(path: dir.file("restored.db"))
        let count = try await restored.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM item") }
        #expect(count == Int(expected) + extra)
    }

    /// Once protection stops, SQLite's automatic checkpoint is back: the WAL stays near its
    /// default 1000 pages without Cairn.
    @Test func stoppingGivesSQLiteItsAutomaticCheckpointsBack() async throws {
        let dir = TempDir()
        let path = dir.file("app.db")
        let pool = try DatabasePool(path: path)
        try await pool.write { db in try db.execute(sql: "CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB)") }
        let protection = try await CairnProtection.start(pool: pool, logger: Self.logger)
        try await protection.stop()
        var maxFrames: UInt32 = 0
        for _ in 0..<3000 {
            try await pool.write { db in try db.execute(sql: "INSERT INTO item(body) VALUES (randomblob(3000))") }
            maxFrames = max(maxFrames, Self.walFrames(path))
        }
        #expect(maxFrames < 2000, "the WAL reached \(maxFrames) frames")
    }

    /// The example under Examples/GRDBApp builds with the package and runs: it writes,
    /// is protected, and restores to a point in time.
    @Test func theGRDBExampleRuns() throws {
        let dir = TempDir()
        let binary = URL(fileURLWithPath: Paths.cairn).deletingLastPathComponent().path + "/cairn-grdb-example"
        let r = Shell.run([binary, dir.path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.hasSuffix("ok\n"), "\(r.stdout)")
    }
}
