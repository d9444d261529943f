import CSQLite
import CSQLiteShim
import Foundation
import CairnFormats
import CairnCatalog

/// A thin connection to the target database. Cairn only reads and takes locks through it
/// (BEGIN / BEGIN IMMEDIATE, then ROLLBACK); it never writes rows or schema (a page repair's
/// one commit rewrites the header's user version with its own value, see `LivePageWriter`),
/// and never checkpoints on close.
package final class SQLiteConnection {
    package let path: String
    private var db: OpaquePointer?
    /// The busy handler's state (see `cairn_sqlite_busy_poll`); freed after the connection.
    private let busyWait: UnsafeMutablePointer<cairn_busy_wait>

    package init(path: String, readOnly: Bool = false, busyTimeoutMs: Int32 = 60_000) throws(EngineError) {
        self.path = path
        busyWait = .allocate(capacity: 1)
        busyWait.initialize(to: cairn_busy_wait(timeout_ms: Int(busyTimeoutMs), started: timespec()))
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        if rc != SQLITE_OK {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            // Every stored property is set: deinit runs and frees `busyWait`.
            throw .sqlite(path: path, code: rc, message: msg)
        }
        db = handle
        _ = cairn_sqlite_busy_poll(handle, busyWait)
        _ = cairn_sqlite_disable_checkpoint_on_close(handle)
    }

    /// For a process of Cairn's own that keeps connections to many databases (the agent: two
    /// per database, which only hold locks and checkpoint): SQLite then allocates each
    /// connection's page cache line by line instead of preallocating ~80 KiB (at 500
    /// databases, 80 MiB resident for nothing). Process-wide, so never done for an application
    /// that embeds Cairn; it must come before the process's first use of SQLite (false after).
    package static func skipPageCachePreallocation() -> Bool {
        cairn_sqlite_no_page_cache_preallocation() == SQLITE_OK
    }

    deinit {
        sqlite3_close_v2(db)
        busyWait.deallocate()
    }

    package func close() {
        sqlite3_close_v2(db)
        db = nil
    }

    private func error(_ rc: Int32) -> EngineError {
        .sqlite(path: path, code: rc, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
    }

    /// Runs `body` with the SQLite handle (nil once closed: an error).
    package func withHandle<T>(_ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        guard let db else { throw .sqlite(path: path, code: SQLITE_MISUSE, message: "the connection is closed") }
        return try body(db)
    }

    package func exec(_ sql: String) throws(EngineError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw error(rc) }
    }

    /// Runs a query and returns every row as text values (NULL becomes nil).
    package func rows(_ sql: String) throws(EngineError) -> [[String?]] {
        var out: [[String?]] = []
        try forEachRow(sql) { stmt in
            var row: [String?] = []
            for i in 0..<sqlite3_column_count(stmt) {
                if let t = sqlite3_column_text(stmt, i) { row.append(String(cString: t)) } else { row.append(nil) }
            }
            out.append(row)
        }
        return out
    }

    package func scalar(_ sql: String) throws(EngineError) -> String? {
        try rows(sql).first?.first ?? nil
    }

    /// Steps a statement and hands each row's statement handle to `body`.
    package func forEachRow(_ sql: String, _ body: (OpaquePointer) throws(EngineError) -> Void) throws(EngineError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        if rc != SQLITE_OK { throw error(rc) }
        defer { sqlite3_finalize(stmt) }
        while true {
            let s = sqlite3_step(stmt)
            if s == SQLITE_DONE { break }
            if s != SQLITE_ROW { throw error(s) }
            try body(stmt!)
        }
    }

    package var journalMode: String {
        get throws(EngineError) { (try scalar("PRAGMA journal_mode") ?? "").lowercased() }
    }
}
