import CSQLite
import CSQLiteShim
import CairnFormats

/// A connection that writes rows into the live database for time travel (flashback of
/// tables, undrop, undoing a transaction), beside the application and through SQLite's own
/// locking: each change is one transaction (BEGIN IMMEDIATE … COMMIT) that capture records
/// like any other. Triggers are off on this connection (the database's triggers do not fire
/// for rows put back) and so are foreign-key actions; checkpoints on close are left to
/// Cairn. The database as of a point is attached read-only through the "cairn-pages" VFS,
/// so rows move from the past into the live database inside SQLite, with no copy in between.
///
/// Used by one thread; not `Sendable`.
final class LiveRowWriter {
    let path: String
    private var db: OpaquePointer?
    private let busyWait: UnsafeMutablePointer<cairn_busy_wait>
    /// The servers of attached past states: they must outlive the connection's use of them.
    private var servers: [PageServer] = []

    init(path: String, busyTimeoutMs: Int32 = 30_000) throws(EngineError) {
        self.path = path
        busyWait = .allocate(capacity: 1)
        busyWait.initialize(to: cairn_busy_wait(timeout_ms: Int(busyTimeoutMs), started: timespec()))
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            busyWait.deallocate()
            throw .sqlite(path: path, code: rc, message: message)
        }
        db = handle
        sqlite3_extended_result_codes(handle, 1)
        _ = cairn_sqlite_busy_poll(handle, busyWait)
        _ = cairn_sqlite_disable_checkpoint_on_close(handle)
        _ = cairn_sqlite_disable_triggers(handle)
        try exec("PRAGMA foreign_keys=OFF")
    }

    deinit {
        sqlite3_close_v2(db)
        servers.removeAll()
        busyWait.deallocate()
    }

    /// Attaches the database `source` serves (read-only, immutable) as schema `name`.
    func attach(_ source: any PageSource, as name: String) throws(EngineError) {
        let server = PageServer(source: source)
        let file = try server.attach()
        servers.append(server)
        try exec("ATTACH 'file:\(file)?immutable=1&vfs=\(CAIRN_PAGES_VFS)' AS \(SQLName.quoted(name))")
    }

    /// Runs `body` as one transaction holding the write lock: committed when it returns
    /// (rolled back instead unless `commit`: a preview), rolled back when it throws.
    func transaction<T>(commit: Bool = true, _ body: () throws(EngineError) -> T) throws(EngineError) -> T {
        try exec(commit ? "BEGIN IMMEDIATE" : "BEGIN")
        do throws(EngineError) {
            let value = try body()
            try exec(commit ? "COMMIT" : "ROLLBACK")
            return value
        } catch {
            sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    func exec(_ sql: String, _ values: [SQLiteValue] = []) throws(EngineError) {
        try each(sql, values) { _ throws(EngineError) in }
    }

    /// Every row `sql` returns.
    func rows(_ sql: String, _ values: [SQLiteValue] = []) throws(EngineError) -> [[SQLiteValue]] {
        var out: [[SQLiteValue]] = []
        try each(sql, values) { (s: OpaquePointer) throws(EngineError) in out.append(SQLiteValue.row(s)) }
        return out
    }

    /// The first column of the first row, as an integer (0 when there is none).
    func count(_ sql: String, _ values: [SQLiteValue] = []) throws(EngineError) -> Int {
        guard case .integer(let n)? = try rows(sql, values).first?.first else { return 0 }
        return Int(n)
    }

    /// Prepares `sql` (one statement), binds `values`, and hands each row to `body`.
    func each(_ sql: String, _ values: [SQLiteValue], _ body: (OpaquePointer) throws(EngineError) -> Void) throws(EngineError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw failure(rc) }
        defer { sqlite3_finalize(stmt) }
        for (i, v) in values.enumerated() { v.bind(to: stmt, at: Int32(i + 1)) }
        while true {
            let s = sqlite3_step(stmt)
            if s == SQLITE_DONE { return }
            guard s == SQLITE_ROW else { throw failure(s) }
            try body(stmt)
        }
    }

    private func failure(_ rc: Int32) -> EngineError {
        let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
        if rc & 0xFF == SQLITE_BUSY {
            return .sqlite(path: path, code: rc, message: "\(message): another connection held the write lock for more than 30 s; nothing was changed, try again")
        }
        return .sqlite(path: path, code: rc, message: message)
    }
}

extension SQLiteValue {
    /// Binds the value to parameter `index` of `statement` (text and blobs copied).
    func bind(to statement: OpaquePointer, at index: Int32) {
        switch self {
        case .null: sqlite3_bind_null(statement, index)
        case .integer(let n): sqlite3_bind_int64(statement, index, n)
        case .real(let d): sqlite3_bind_double(statement, index, d)
        case .text(let t): sqlite3_bind_text(statement, index, t, -1, cairn_sqlite_transient())
        case .blob(let b): b.withUnsafeBytes { _ = sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), cairn_sqlite_transient()) }
        }
    }
}

/// SQL identifiers.
enum SQLName {
    /// `name` as a quoted identifier ("a""b").
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
