@testable import CairnFormats
@testable import CairnEngines
import CSQLite
import Foundation
import Testing

/// Reading SQLite's WAL as capture and backups do: committed transactions only, a torn
/// tail ignored, a damaged frame ending the valid log (all in process: SQLite's own library
/// writes the WAL).
@Suite struct WALParsingTests {
    /// A WAL-mode database with `commits` committed transactions left in its WAL.
    static func database(commits: Int) -> (path: String, connection: OpaquePointer) {
        let dir = NSTemporaryDirectory() + "cairn-unit-wal-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/t.db"
        var db: OpaquePointer?
        sqlite3_open(path, &db)
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x BLOB);", nil, nil, nil)
        for _ in 0..<commits { sqlite3_exec(db, "INSERT INTO t VALUES (randomblob(3000));", nil, nil, nil) }
        return (path, db!)
    }

    @Test func committedTransactionsAreFoundInOrder() throws {
        let (path, db) = Self.database(commits: 5)
        defer { sqlite3_close(db) }
        let scan = try WALFile.scan(path: path + "-wal")
        #expect(scan.commits.count == 6)               // CREATE TABLE and 5 inserts
        #expect(scan.commits.map(\.frame) == scan.commits.map(\.frame).sorted())
        #expect(scan.lastCommitFrame == scan.commits.last?.frame)
        #expect(scan.header != nil)
    }

    @Test func aTornTailIsIgnored() throws {
        let (path, db) = Self.database(commits: 5)
        defer { sqlite3_close(db) }
        let full = try WALFile.scan(path: path + "-wal")
        let wal = path + "-wal"
        let size = (try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        truncate(wal, off_t(size - 100))               // the last frame is cut short
        let torn = try WALFile.scan(path: wal)
        #expect(torn.commits.count == full.commits.count - 1)
        #expect(torn.lastCommitFrame < full.lastCommitFrame)
    }

    @Test func aDamagedFrameEndsTheValidLog() throws {
        let (path, db) = Self.database(commits: 5)
        defer { sqlite3_close(db) }
        let wal = path + "-wal"
        let full = try WALFile.scan(path: wal)
        // Damage a byte of the page image of the third commit's frame: its checksum fails,
        // and nothing from it on is valid.
        let third = full.commits[2].frame
        let pageSize = 4096, frameSize = 24 + pageSize
        let offset = 32 + Int(third - 1) * frameSize + 24 + 100
        let h = FileHandle(forUpdatingAtPath: wal)!
        try h.seek(toOffset: UInt64(offset))
        let byte = try h.read(upToCount: 1)!
        try h.seek(toOffset: UInt64(offset))
        try h.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try h.close()
        let damaged = try WALFile.scan(path: wal)
        #expect(damaged.commits.count == 2)
        #expect(damaged.lastCommitFrame == full.commits[1].frame)
    }
}
