@testable import CairnAgent
@testable import CairnEngines
import CairnFormats
import CairnTestSupport
import CSQLite
import Foundation
import Testing

/// The agent measures capture lag from the WAL index (`-shm`) of every database on each
/// snapshot, in the process whose SQLite connections and pins hold locks on that very file.
@Suite struct CaptureLagTests {
    /// Measuring must leave this process's locks on `-shm` alone: POSIX record locks belong to
    /// the process, and closing any descriptor of the file drops them all (a reader's read
    /// mark among them, which is what keeps a checkpoint from overwriting what it reads).
    @Test func measuringKeepsTheReadMarksThisProcessHolds() throws {
        let dir = NSTemporaryDirectory() + "cairn-unit-lag-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.db"
        var reader: OpaquePointer?
        #expect(sqlite3_open(path, &reader) == SQLITE_OK)
        defer { sqlite3_close(reader) }
        #expect(sqlite3_exec(reader, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t VALUES (1);", nil, nil, nil) == SQLITE_OK)
        // A read transaction in this process, then a commit by another one after it.
        #expect(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM t;", nil, nil, nil) == SQLITE_OK)
        #expect(Shell.run(["sqlite3", path, "INSERT INTO t VALUES (2);"]).status == 0)
        #expect(Self.truncateIsBusy(path), "the read transaction should hold the WAL before measuring")

        var progress = GuardedCapture.Progress()
        progress.running = true
        progress.pageSize = 4096
        progress.position = WALPosition(salt1: 0, salt2: 0, frame: 0, checksum1: 0, checksum2: 0)
        for _ in 0..<3 {
            let lag = try #require(CaptureLag.measure(progress, index: try WALIndex(databasePath: path), now: Date()))
            #expect(lag.bytes > 0)
        }
        #expect(Self.truncateIsBusy(path), "measuring capture lag dropped this process's read mark on \(path)-shm")
        #expect(sqlite3_exec(reader, "COMMIT;", nil, nil, nil) == SQLITE_OK)
    }

    /// Whether a TRUNCATE checkpoint by another process is held back by a reader.
    static func truncateIsBusy(_ path: String) -> Bool {
        let r = Shell.run(["sqlite3", path, "PRAGMA wal_checkpoint(TRUNCATE);"])
        return r.stdout.split(separator: "|").first == "1"
    }
}
