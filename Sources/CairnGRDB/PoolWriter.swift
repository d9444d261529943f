import CSQLite
import GRDB
import CairnFormats
import CairnEngines

/// A GRDB `DatabasePool`'s writer as the `ApplicationWriter` Cairn's checkpoints and
/// write-lock holds go through: they wait in the pool's writer queue like any of the
/// application's writes, so the application never finds SQLite's locks taken by Cairn.
final class PoolWriter: ApplicationWriter {
    let pool: DatabasePool

    init(_ pool: DatabasePool) { self.pool = pool }

    func onWriter<T>(_ body: (OpaquePointer) throws(EngineError) -> T) throws(EngineError) -> T {
        var outcome: Result<T, EngineError>?
        pool.writeWithoutTransaction { db in
            guard let connection = db.sqliteConnection else { return }
            outcome = Result { () throws(EngineError) -> T in try body(connection) }
        }
        guard let outcome else { throw .sqlite(path: pool.path, code: SQLITE_MISUSE, message: "the database pool is closed") }
        return try outcome.get()
    }
}
