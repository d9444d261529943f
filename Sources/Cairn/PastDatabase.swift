import Foundation
import Synchronization
import CairnFormats
import CairnCatalog
import CairnEngines

/// One value of a row a query returned.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// What a query returned: its columns' names and every row.
public struct QueryRows: Sendable, Equatable {
    public let columns: [String]
    public let rows: [[SQLValue]]
}

/// The database as it was at a point, read-only: SQL is answered from the backups and the
/// logs, page by page as SQLite asks for them, without a copy of the database written anywhere
/// (`cairn query --as-of`). Statements that could write are refused. Keep one open for several
/// queries (the index of where each page lives is built once); `close()` releases it (so does
/// the last reference going away).
///
/// ```swift
/// let then = try await db.open(asOf: .time(beforeTheDelete))
/// let rows = try await then.query("SELECT * FROM orders WHERE id = 42")
/// ```
public final class PastDatabase: Sendable {
    /// The transaction the database is as of.
    public let scn: UInt64
    private let connection: Mutex<AsOfHandle?>

    init(scn: UInt64, connection: AsOfHandle) {
        self.scn = scn
        self.connection = Mutex(connection)
    }

    /// Runs `sql` (one read-only statement) and returns every row.
    public func query(_ sql: String) async throws(CairnError) -> QueryRows {
        try await detached(progress: nil) { _ throws(EngineError) -> QueryRows in
            try self.connection.withLock { (handle: inout AsOfHandle?) throws(EngineError) -> QueryRows in
                guard let handle else { throw .invalidArgument("this past state of the database was closed; open it again") }
                let r = try handle.connection.query(sql)
                return QueryRows(columns: r.columns, rows: r.rows.map { $0.map(SQLValue.init) })
            }
        }
    }

    /// Releases the connection and the files it reads.
    public func close() {
        connection.withLock { $0 = nil }
    }
}

/// The connection, handed between threads one at a time (the mutex sees to it).
final class AsOfHandle: @unchecked Sendable {
    let connection: AsOfConnection
    init(_ connection: AsOfConnection) { self.connection = connection }
}

extension SQLValue {
    init(_ v: SQLiteValue) {
        switch v {
        case .null: self = .null
        case .integer(let n): self = .integer(n)
        case .real(let d): self = .real(d)
        case .text(let s): self = .text(s)
        case .blob(let b): self = .blob(b)
        }
    }
}

extension ProtectedDatabase {
    /// The database as it was at `point` (`.latest`: the newest captured transaction), for
    /// read-only SQL; see `PastDatabase`.
    public func open(asOf point: RecoveryPoint) async throws(CairnError) -> PastDatabase {
        let catalog = catalog
        return try await detached(database: catalog.databasePath, progress: nil) { _ throws(EngineError) -> PastDatabase in
            let at: PointInTime
            switch point {
            case .latest: at = .scn(catalog.redoStatus.scn)
            case .scn(let n): at = .scn(n)
            case .time(let t): at = .time(t)
            case .restorePoint(let name): at = .restorePoint(name)
            case .backupOnly: throw .invalidArgument("a past state is a point of the history: give .scn, .time, .restorePoint or .latest")
            }
            let scn = try catalog.scn(of: at)
            return PastDatabase(scn: scn, connection: AsOfHandle(try catalog.openAsOf(.scn(scn))))
        }
    }
}
