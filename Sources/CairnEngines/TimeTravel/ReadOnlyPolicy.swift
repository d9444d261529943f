import CSQLite
import Foundation

/// What an `AsOfConnection` lets SQL do: read. The connection is opened read-only and
/// immutable with `PRAGMA query_only` on, and beyond that:
/// - a statement SQLite says may write (`sqlite3_stmt_readonly` false: INSERT, CREATE,
///   VACUUM, ANALYZE, `PRAGMA journal_mode`, temporary tables...) is refused before any
///   statement of the SQL runs;
/// - the authorizer refuses ATTACH and DETACH (no other file is opened), and a PRAGMA given
///   a value unless it only reads (`table_info(t)`, `integrity_check(10)`...): a value would
///   change the connection (its cache size and so its memory, `query_only`, `journal_mode`).
enum ReadOnlyPolicy {
    /// Pragmas whose argument names what to read, not a setting.
    static let readingPragmas: Set<String> = [
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    ]

    /// Installs the authorizer; `server` records why it refused (`PageServer.refusal`).
    static func install(on db: OpaquePointer, server: PageServer) {
        let context = Unmanaged.passUnretained(server).toOpaque()
        sqlite3_set_authorizer(db, { context, action, first, second, _, _ in
            guard let reason = ReadOnlyPolicy.refusal(action, first.map { String(cString: $0) }, second.map { String(cString: $0) }) else { return SQLITE_OK }
            if let context { Unmanaged<PageServer>.fromOpaque(context).takeUnretainedValue().refusal = reason }
            return SQLITE_DENY
        }, context)
    }

    /// Why `action` is refused (with the authorizer's first two arguments), or nil.
    static func refusal(_ action: Int32, _ first: String?, _ second: String?) -> String? {
        switch action {
        case SQLITE_ATTACH: return "ATTACH is refused: only the database as of the chosen point can be queried, no other file is opened"
        case SQLITE_DETACH: return "DETACH is refused: no database can be attached"
        case SQLITE_PRAGMA:
            guard let name = first?.lowercased(), let value = second, !readingPragmas.contains(name) else { return nil }
            return "PRAGMA \(name) = \(value) is refused: it would change the connection's settings; only pragmas that read can run"
        default: return nil
        }
    }

    /// Why `statement` is refused (it may write), or nil.
    static func refusal(of statement: OpaquePointer, in database: String) -> String? {
        guard sqlite3_stmt_readonly(statement) == 0 else { return nil }
        var text = sqlite3_sql(statement).map { String(cString: $0) } ?? "the statement"
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count > 80 { text = String(text.prefix(77)) + "..." }
        return "`\(text)` is refused: it could change \(database), which is read-only; only statements that read (SELECT, WITH ... SELECT, EXPLAIN, pragmas that read) can run. Nothing ran."
    }
}
