import CSQLite
import CSQLiteShim
import CairnFormats

/// A read-only SQLite connection to a database whose pages a `PageSource` serves (the
/// database as of a past transaction): SQL runs against it without a copy of the database
/// being written anywhere.
///
/// - The main database file is served through the "cairn-pages" VFS, opened read-only and
///   immutable (`immutable=1`, and the file reports `SQLITE_IOCAP_IMMUTABLE`): SQLite takes
///   no locks and never looks for a journal, WAL or WAL index. A page 1 in WAL mode (header
///   bytes 18-19 = 2) is served as it is: an immutable database is treated like a temporary
///   file, whose pager never opens a WAL, so the header needs no change.
/// - Temporary files (sorts that spill, temporary b-trees) are real files of the default VFS,
///   unnamed and deleted when closed; any other file (journal, WAL, attached database) is
///   refused by the VFS, and SQL that could write is refused (`ReadOnlyPolicy`).
/// - Memory: SQLite's page cache for the connection holds at most `cacheKiB` KiB (sorts spill
///   to temporary files beyond about that much); the source keeps its own cache, if any.
/// - A failure of the source fails the statement with an I/O error in SQLite; the connection
///   throws the source's own error and records it with the page (`sourceFailure`).
///
/// One connection per object, used by one thread at a time (SQLite's no-mutex mode): not
/// `Sendable`. Connections over different sources may run at once on different threads.
package final class AsOfConnection {
    /// SQLite's page cache for the connection, in KiB (16 MiB).
    package static let cacheKiB = 16384
    /// What errors call the database, e.g. "app.db as of SCN 1234".
    package let label: String
    private let server: PageServer
    private var db: OpaquePointer?

    /// The page the source last failed to supply, and why (nil when the last statement did
    /// not fail in the source); the caller reports "page N could not be rebuilt: ...".
    package var sourceFailure: PageSourceFailure? { server.failure }

    package init(source: any PageSource, label: String) throws(EngineError) {
        let size = source.pageSize
        guard size >= 512, size <= 65536, size & (size - 1) == 0 else {
            throw .invalidArgument("\(label) cannot be served: its page size \(size) is not a power of two from 512 to 65536")
        }
        self.label = label
        server = PageServer(source: source)
        let name = try server.attach()
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2("file:\(name)?immutable=1", &handle, flags, CAIRN_PAGES_VFS)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            server.detach()
            // Opening reads the header (the first bytes of page 1).
            throw server.failure?.error ?? .sqlite(path: label, code: rc, message: message)
        }
        db = handle
        try configure(handle)
    }

    deinit { close() }

    /// Bounds the page cache, turns `query_only` on and installs the read-only policy. Reads
    /// the schema (page 1 at least), so a source that cannot supply it fails here.
    private func configure(_ db: OpaquePointer) throws(EngineError) {
        sqlite3_extended_result_codes(db, 1)
        sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0)
        server.resetFailure()
        let rc = sqlite3_exec(db, "PRAGMA cache_size=-\(Self.cacheKiB); PRAGMA query_only=1; SELECT count(*) FROM sqlite_schema", nil, nil, nil)
        if rc != SQLITE_OK {
            let error = failure(rc, db)
            close()
            throw error
        }
        ReadOnlyPolicy.install(on: db, server: server)
    }

    /// Closes the connection (also done on deinit). Every statement is finalized by then, so
    /// SQLite closes the file at once; were it not, the server would be kept forever rather
    /// than freed under an open file.
    package func close() {
        guard let handle = db else { return }
        db = nil
        if sqlite3_close(handle) == SQLITE_OK {
            server.detach()
        } else {
            _ = Unmanaged.passRetained(server)
        }
    }

    /// The rows of `sql`, which must hold one statement.
    package func query(_ sql: String) throws(EngineError) -> QueryResult {
        let results = try queryAll(sql)
        guard results.count == 1, let result = results.first else {
            throw .invalidArgument("The SQL holds \(results.count) statements where one was expected; run them one at a time.")
        }
        return result
    }

    /// The rows of each statement of `sql`, in order. Holds every row in memory: `stream`
    /// hands them over one at a time instead.
    package func queryAll(_ sql: String) throws(EngineError) -> [QueryResult] {
        var results: [QueryResult] = []
        try stream(sql) { event in
            switch event {
            case let .statement(_, columns): results.append(QueryResult(columns: columns))
            case let .row(values): results[results.count - 1].rows.append(values)
            }
        }
        return results
    }

    /// Runs the statements of `sql` in turn (separated by semicolons), handing `body` each
    /// statement's columns, then each of its rows as SQLite steps to it. Every statement is
    /// prepared and checked before the first runs: if one would write, none runs.
    package func stream(_ sql: String, _ body: (QueryEvent) throws(EngineError) -> Void) throws(EngineError) {
        guard let db else { throw .sqlite(path: label, code: SQLITE_MISUSE, message: "the connection is closed") }
        server.resetFailure()
        let statements = try prepare(sql, db)
        defer { for s in statements { sqlite3_finalize(s) } }
        for (index, statement) in statements.enumerated() {
            try body(.statement(index: index, columns: SQLiteValue.columns(statement)))
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw failure(rc, db) }
                try body(.row(SQLiteValue.row(statement)))
            }
        }
    }

    /// Prepares `sql` (one statement that only reads) and hands it to `body`, which steps it and
    /// reads its columns straight from SQLite (`cairn export`: no value is copied on the way);
    /// `stepFailure` turns a failed step into the error to report.
    package func withStatement<T>(_ sql: String, _ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        guard let db else { throw .sqlite(path: label, code: SQLITE_MISUSE, message: "the connection is closed") }
        server.resetFailure()
        let statements = try prepare(sql, db)
        defer { for s in statements { sqlite3_finalize(s) } }
        guard statements.count == 1, let statement = statements.first else {
            throw .invalidArgument("The SQL holds \(statements.count) statements where one was expected.")
        }
        return try body(statement)
    }

    /// The error for a step of a statement of this connection that returned `rc`: a page the
    /// source could not rebuild is named with its reason (as `cairn query` says it).
    package func stepFailure(_ rc: Int32) -> EngineError {
        if let f = server.failure { return .unrecoverable("\(label): \(f.description)") }
        guard let db else { return .sqlite(path: label, code: rc, message: "the connection is closed") }
        return failure(rc, db)
    }

    /// Every statement of `sql`, prepared; throws (finalizing them) if one fails to prepare
    /// or could write.
    private func prepare(_ sql: String, _ db: OpaquePointer) throws(EngineError) -> [OpaquePointer] {
        var statements: [OpaquePointer] = []
        var error: EngineError?
        sql.withCString { start in
            var next: UnsafePointer<CChar>? = start
            while let rest = next, rest.pointee != 0, error == nil {
                var statement: OpaquePointer?
                let rc = sqlite3_prepare_v2(db, rest, -1, &statement, &next)
                if rc != SQLITE_OK { error = failure(rc, db); break }
                if let statement {
                    statements.append(statement)
                    if let refusal = ReadOnlyPolicy.refusal(of: statement, in: label) { error = .invalidArgument(refusal) }
                }
                if next == rest { break }
            }
        }
        if let error {
            for s in statements { sqlite3_finalize(s) }
            throw error
        }
        return statements
    }

    /// The error for SQLite's `rc`: the source's own when a page could not be read, the
    /// policy's when the authorizer refused, else SQLite's.
    private func failure(_ rc: Int32, _ db: OpaquePointer) -> EngineError {
        if let f = server.failure { return f.error }
        if let refusal = server.refusal { return .invalidArgument(refusal + ". Nothing ran.") }
        return .sqlite(path: label, code: rc, message: String(cString: sqlite3_errmsg(db)))
    }
}
