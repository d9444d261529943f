import Foundation
import GRDB
import Logging
import Cairn
import CairnFormats
import CairnCatalog
import CairnEngines

/// Protects the database of a GRDB `DatabasePool` from inside the application.
///
/// Every commit of the pool's writer is captured the instant it happens, with its exact
/// commit time, through SQLite's WAL hook on that connection; closed logs are archived in
/// the background. What needs SQLite's write lock — Cairn's checkpoints, the moment a backup
/// fixes its snapshot — goes through the pool's own writer queue, so an application left at
/// GRDB's default busy mode (an immediate error) never gets SQLITE_BUSY because of Cairn.
/// The WAL hook replaces SQLite's automatic checkpoint; Cairn checkpoints after capture
/// instead, keeping the WAL near its target size.
///
/// ```swift
/// let pool = try DatabasePool(path: path)
/// let protection = try await CairnProtection.start(pool: pool)
/// // ... the application reads and writes through `pool` ...
/// try await protection.stop()      // before the pool is closed
/// ```
public final class CairnProtection: Sendable {
    /// The protected database: backups, restores, status (see `ProtectedDatabase`).
    public let database: ProtectedDatabase
    private let capture: InProcessCapture

    private init(database: ProtectedDatabase, capture: InProcessCapture) {
        self.database = database
        self.capture = capture
    }

    /// Starts protecting the pool's database: registers it when it is not yet (with
    /// `registration`), takes a level-0 backup when it has none, then captures every commit.
    public static func start(pool: DatabasePool, registration: Registration = Registration(),
                             logger: Logger = Logger(label: "cairn.grdb")) async throws(CairnError) -> CairnProtection {
        let path = pool.path
        let database: ProtectedDatabase
        do throws(CairnError) {
            database = try await ProtectedDatabase.open(path, repository: registration.repository, logger: logger)
        } catch where error.code == .registration && error.remedy?.action == .register(database: FileSystem.resolved(path)) {
            database = try await ProtectedDatabase.register(path, registration, logger: logger)
        }
        let writer = PoolWriter(pool)
        let catalog = database.catalog
        let capture = try await detachedWork { () throws(EngineError) -> InProcessCapture in
            try InProcessCapture(database: catalog, writer: writer, logger: logger)
        }
        if database.backups().allSatisfy({ $0.kind == .archivedLogs }) {
            do throws(CairnError) { try await database.backup() } catch {
                try? await detachedWork { () throws(EngineError) in try capture.stop() }
                throw error
            }
        }
        return CairnProtection(database: database, capture: capture)
    }

    /// The newest captured transaction.
    public var capturedScn: UInt64 { capture.scn }

    /// Captures and archives everything committed, then stops capture and gives SQLite its
    /// automatic checkpoints back. Call it before closing the pool (never from inside one of
    /// the pool's write blocks: it waits for the writer).
    public func stop() async throws(CairnError) {
        let capture = capture
        try await detachedWork { () throws(EngineError) in try capture.stop() }
    }

    /// Takes a backup (see `ProtectedDatabase.backup`); its snapshot moment goes through the pool's writer.
    @discardableResult
    public func backup(_ request: BackupRequest = BackupRequest(), progress: ProgressHandler? = nil) async throws(CairnError) -> BackupSummary {
        try await database.backup(request, progress: progress)
    }

    /// Restores the database as of `point` into a new file (see `ProtectedDatabase.restore`).
    @discardableResult
    public func restore(to path: String, at point: RecoveryPoint = .latest, progress: ProgressHandler? = nil) async throws(CairnError) -> RecoverySummary {
        try await database.restore(to: path, at: point, progress: progress)
    }
}

/// Runs blocking engine work off the cooperative pool.
private func detachedWork<T: Sendable>(_ work: @escaping @Sendable () throws(EngineError) -> T) async throws(CairnError) -> T {
    let result: Result<T, EngineError> = await withCheckedContinuation { done in
        Thread.detachNewThread {
            do throws(EngineError) { done.resume(returning: .success(try work())) } catch { done.resume(returning: .failure(error)) }
        }
    }
    switch result {
    case let .success(v): return v
    case let .failure(e): throw CairnError(e)
    }
}
