import CSQLite
import Foundation
import Synchronization
import CairnFormats

/// The application's own writer connection, when Cairn runs inside the application (the
/// GRDB adapter registers its `DatabasePool`'s writer). Whatever Cairn does that needs
/// SQLite's write lock or a checkpoint then goes through it, queued with the application's
/// own writes, so an application that never waits for locks (GRDB's default busy mode)
/// never gets SQLITE_BUSY because of Cairn.
package protocol ApplicationWriter: AnyObject, Sendable {
    /// Runs `body` on the writer connection, outside any transaction, after the
    /// application's writes queued before it and before those queued after it.
    func onWriter<T>(_ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T
}

extension ApplicationWriter {
    /// Runs `body` while the writer holds SQLite's write lock (BEGIN IMMEDIATE … ROLLBACK);
    /// `body` gets the writer connection (never call `onWriter` again from inside it: the
    /// application's writer is not reentrant).
    package func withWriteLock<T>(path: String, _ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        try onWriter { (conn: OpaquePointer) throws(EngineError) -> T in
            try Self.exec(conn, "BEGIN IMMEDIATE", path: path)
            defer { sqlite3_exec(conn, "ROLLBACK", nil, nil, nil) }
            return try body(conn)
        }
    }

    /// A PASSIVE checkpoint on the writer: false when another checkpoint kept it from running
    /// (SQLITE_BUSY); whether every frame was copied is read from the WAL index after.
    package func checkpointPassive(path: String) throws(EngineError) -> Bool {
        try onWriter { (conn: OpaquePointer) throws(EngineError) -> Bool in try WriterCheckpoint.passive(conn, path: path) }
    }

    private static func exec(_ conn: OpaquePointer, _ sql: String, path: String) throws(EngineError) {
        let rc = sqlite3_exec(conn, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw .sqlite(path: path, code: rc, message: String(cString: sqlite3_errmsg(conn))) }
    }
}

/// A checkpoint on the writer connection `onWriter` handed out.
package enum WriterCheckpoint {
    /// PASSIVE: false when another checkpoint kept it from running (SQLITE_BUSY).
    package static func passive(_ conn: OpaquePointer, path: String) throws(EngineError) -> Bool {
        var log: Int32 = 0, copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(conn, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
        if rc == SQLITE_BUSY { return false }
        if rc != SQLITE_OK { throw .sqlite(path: path, code: rc, message: String(cString: sqlite3_errmsg(conn))) }
        return true
    }
}

/// The application writers registered in this process, by database path (resolved).
package enum ApplicationWriters {
    private static let writers = Mutex<[String: any ApplicationWriter]>([:])

    package static func register(_ writer: any ApplicationWriter, for database: String) {
        writers.withLock { $0[database] = writer }
    }

    package static func remove(for database: String) {
        _ = writers.withLock { $0.removeValue(forKey: database) }
    }

    package static func writer(for database: String) -> (any ApplicationWriter)? {
        writers.withLock { $0[database] }
    }
}
