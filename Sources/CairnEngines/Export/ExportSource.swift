import CSQLite
import CSystemShim
import CairnFormats
#if canImport(Glibc)
import Glibc
#endif

/// A consistent, read-only state of a database that an export reads with SQLite's own column
/// accessors: the live file inside one read transaction (`LiveExportSource`), or the database
/// as of a past point, its pages rebuilt from backups and logs (`AsOfConnection`).
protocol ExportSource: AnyObject {
    /// What messages call the database ("app.db", "app.db as of SCN 12").
    var label: String { get }
    /// Prepares `sql` (one statement), hands it to `body`, then finalizes it.
    func withStatement<T>(_ sql: String, _ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T
    /// The error for a step of one of its statements that returned `rc`.
    func stepFailure(_ rc: Int32) -> EngineError
}

extension ExportSource {
    /// Steps `sql` and hands each row's statement to `body`.
    func forEachRow(_ sql: String, _ body: (OpaquePointer) throws(EngineError) -> Void) throws(EngineError) {
        try withStatement(sql) { (statement: OpaquePointer) throws(EngineError) in
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw stepFailure(rc) }
                try body(statement)
            }
        }
    }

    /// Every row of `sql` as text values (NULL as nil): for the schema, never for data.
    func texts(_ sql: String) throws(EngineError) -> [[String?]] {
        var rows: [[String?]] = []
        try forEachRow(sql) { statement in
            rows.append((0..<sqlite3_column_count(statement)).map { i in
                sqlite3_column_text(statement, i).map { String(cString: $0) }
            })
        }
        return rows
    }

    /// The first column of the first row of `sql` as an integer (0 when there is none).
    func integer(_ sql: String) throws(EngineError) -> Int64 {
        var value: Int64 = 0
        try forEachRow(sql) { statement in value = sqlite3_column_int64(statement, 0) }
        return value
    }
}

extension AsOfConnection: ExportSource {}

/// The live database file, read-only in one read transaction: every table comes from the same
/// committed state. In WAL mode the application's writers go on meanwhile (in rollback-journal
/// mode they wait for the export to end); a writer or checkpoint holding a lock when the export
/// starts is waited for up to the busy timeout. Closing never checkpoints.
///
/// Reading a WAL database makes SQLite create its `-wal` and `-shm` files when they are missing
/// (the database was closed cleanly). Those it created are removed again on close when no other
/// connection has the database open (SQLite's SHARED lock range is free, and held by this
/// export while it removes them, as SQLite does when its last connection closes) and the WAL is
/// empty: files left by a command running as another user could keep the application out.
final class LiveExportSource: ExportSource {
    let label: String
    private let connection: SQLiteConnection
    private var closed = false
    /// The WAL and WAL index were missing when the export opened the database.
    private let created: (wal: Bool, index: Bool)

    init(path: String, busyTimeoutMs: Int32) throws(EngineError) {
        guard FileSystem.exists(path) else { throw .databaseMissing(path: path) }
        _ = try DatabaseHeader.read(path)
        label = path
        created = (!FileSystem.exists(path + "-wal"), !FileSystem.exists(path + "-shm"))
        connection = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMs: busyTimeoutMs)
        do throws(EngineError) {
            // The first read fixes the snapshot every later statement sees.
            try connection.exec("BEGIN; SELECT count(*) FROM sqlite_schema")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        try? connection.exec("ROLLBACK")
        connection.close()
        if created.wal || created.index { removeCreatedFiles() }
    }

    private func removeCreatedFiles() {
        let fd = open(label, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        guard cairn_ofd_lock(fd, WALPin.sharedFirst, WALPin.sharedSize, 2) == 0 else { return }
        defer { _ = cairn_ofd_lock(fd, WALPin.sharedFirst, WALPin.sharedSize, 0) }
        let wal = label + "-wal"
        if created.wal && FileSystem.fileSize(wal) == 0 { unlink(wal) }
        if created.index && !FileSystem.exists(wal) { unlink(label + "-shm") }
    }

    func withStatement<T>(_ sql: String, _ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        try connection.withHandle { (db: OpaquePointer) throws(EngineError) -> T in
            var statement: OpaquePointer?
            let rc = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
            guard rc == SQLITE_OK, let statement else { throw stepFailure(rc) }
            defer { sqlite3_finalize(statement) }
            return try body(statement)
        }
    }

    func stepFailure(_ rc: Int32) -> EngineError {
        let message = (try? connection.withHandle { (db: OpaquePointer) throws(EngineError) in String(cString: sqlite3_errmsg(db)) }) ?? "closed"
        return .sqlite(path: label, code: rc, message: message)
    }
}
