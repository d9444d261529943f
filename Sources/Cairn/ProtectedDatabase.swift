import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

/// A SQLite database protected by Cairn: registered once, then backed up, captured
/// transaction by transaction, validated and restored to any point.
///
/// ```swift
/// let db = try await ProtectedDatabase.register("/srv/app.db")
/// try await db.backup()
/// // ... the application writes; capture runs (`captureService()`) ...
/// let r = try await db.restore(to: "/tmp/app-at-noon.db", at: .time(noon))
/// ```
///
/// Every method is safe to call from any task; long operations run on threads of their own,
/// report progress to an optional handler, and stop when their task is cancelled.
public final class ProtectedDatabase: Sendable {
    package let catalog: Catalog

    init(_ catalog: Catalog) { self.catalog = catalog }

    /// Registers `database`: gives it a DBID, switches it to WAL mode, creates its
    /// repository and control file. Throws when it is already registered.
    public static func register(_ database: String, _ registration: Registration = Registration(),
                                logger: Logger = Logger(label: "cairn")) async throws(CairnError) -> ProtectedDatabase {
        var redo = RedoOptions()
        redo.mode = registration.archiveLog ? .archivelog : .noarchivelog
        redo.archiveDestinations = registration.archiveDestinations
        redo.logSizeBytes = registration.logSizeBytes
        redo.walTargetBytes = registration.walTargetBytes
        let mode = registration.fileMode.map { FileMode(clamping: $0) }
        let options = redo
        return ProtectedDatabase(try await detached(database: database, progress: nil) { _ throws(EngineError) in
            for r in registration.remotes { if let problem = ArchiveDestinations.problem(with: r) { throw problem } }
            let p = try Catalog.initialize(database: database, repository: registration.repository,
                                           extraControlCopies: registration.extraControlCopies, redo: options, fileMode: mode, logger: logger)
            for r in registration.remotes { try p.addRemote(r, mode: .async) }
            p.shipToRemotes(after: "the registration")
            return p
        })
    }

    /// Opens a registered database by any of its names (its control file is found beside it,
    /// in `repository`, or in the default repository).
    public static func open(_ database: String, repository: String? = nil,
                            logger: Logger = Logger(label: "cairn")) async throws(CairnError) -> ProtectedDatabase {
        ProtectedDatabase(try await detached(database: database, progress: nil) { _ throws(EngineError) in
            try Catalog.open(database: database, repository: repository, logger: logger)
        })
    }

    public var databasePath: String { catalog.databasePath }
    public var repositoryPath: String { catalog.layout.root }
    public var dbid: UInt64 { catalog.dbid }

    /// Where the database stands now.
    public func status() async -> DatabaseStatus {
        let catalog = catalog
        let s = try? await detached(progress: nil) { _ throws(EngineError) in catalog.redoStatus }
        let c = catalog.control
        return DatabaseStatus(
            dbid: c.dbidValue, databasePath: catalog.databasePath, repositoryPath: catalog.layout.root,
            incarnation: c.incarnation, archiveLog: c.redo.mode == .archivelog,
            capturedScn: s?.capturedScn ?? c.scn, archivedScn: c.redo.archivedScn, recoverableScn: s?.recoverableScn,
            captureRunning: s?.captureRunning ?? false, backups: c.backups.count,
            lastBackupId: s?.lastBackupId, lastBackupAt: s?.lastBackupAt, warnings: s?.warnings ?? catalog.warnings)
    }

    /// Every recorded backup, oldest first.
    public func backups() -> [BackupSummary] { catalog.backups.map(BackupSummary.init) }

    /// Takes a backup, verifies it (every piece re-read and checked) and records it.
    @discardableResult
    public func backup(_ request: BackupRequest = BackupRequest(),
                       progress: ProgressHandler? = nil) async throws(CairnError) -> BackupSummary {
        let catalog = catalog
        return BackupSummary(try await detached(database: catalog.databasePath, progress: progress) { monitor throws(EngineError) in
            var o = BackupOptions()
            o.level = request.level
            o.cumulative = request.cumulative
            o.asCopy = request.imageCopy
            o.compressionLevel = request.compressionLevel
            o.tag = request.tag
            o.keepUntil = request.keepUntil
            o.keepForever = request.keepForever
            o.monitor = monitor
            return try catalog.backup(o)
        })
    }

    /// Restores the database as of `point` into a new file at `path` (never the live
    /// database): the newest suitable backup (or `backup`) is restored and the logs after it
    /// applied. `replacing` lets an existing file at `path` be replaced.
    @discardableResult
    public func restore(to path: String, at point: RecoveryPoint = .latest, backup: UInt64? = nil, replacing: Bool = false,
                        progress: ProgressHandler? = nil) async throws(CairnError) -> RecoverySummary {
        let catalog = catalog
        return RecoverySummary(try await detached(database: catalog.databasePath, progress: progress) { monitor throws(EngineError) in
            if FileSystem.resolved(path) == catalog.databasePath {
                throw .invalidArgument("\(path) is the live database; restore to another path, then stop the application and move it into place.")
            }
            return try catalog.recover(to: path, target: try Self.target(point, catalog), backup: backup, force: replacing, monitor: monitor)
        })
    }

    /// Copies the database as of `point` into a new file at `path` that is a database of its
    /// own, with a DBID of its own (kept beside it in `PATH.cairn-clone`), built and checked as a
    /// restore is. `register` also registers it with its own repository (`PATH.cairn`) and takes
    /// its first level-0 backup: its backups and logs are never mixed up with this database's.
    @discardableResult
    public func clone(to path: String, at point: RecoveryPoint = .latest, register: Bool = false,
                      progress: ProgressHandler? = nil) async throws(CairnError) -> CloneSummary {
        let catalog = catalog
        return CloneSummary(try await detached(database: catalog.databasePath, progress: progress) { monitor throws(EngineError) in
            try catalog.clone(to: path, target: try Self.target(point, catalog), register: register, monitor: monitor)
        })
    }

    /// Restores a database from a remote repository alone (`s3://BUCKET/PREFIX`, or a
    /// directory holding DBID folders) into a new file at `path`, on a machine that may have
    /// nothing else; `dbid` chooses the database when the remote holds several.
    @discardableResult
    public static func restore(fromRemote url: String, dbid: UInt64? = nil, to path: String, at point: RecoveryPoint = .latest,
                               replacing: Bool = false, progress: ProgressHandler? = nil,
                               logger: Logger = Logger(label: "cairn")) async throws(CairnError) -> RecoverySummary {
        RecoverySummary(try await detached(progress: progress) { monitor throws(EngineError) in
            let (catalog, _, staging) = try Catalog.openRemoteRepository(url, dbid: dbid.map(String.init), near: path, logger: logger)
            defer { Catalog.removeStaging(staging) }
            return try catalog.recoverDetached(to: path, target: try target(point, catalog), force: replacing, monitor: monitor)
        })
    }

    /// Reads and verifies one backup (or every backup) as a restore would, writing nothing.
    public func validate(backup: UInt64? = nil, progress: ProgressHandler? = nil) async throws(CairnError) -> [BackupValidation] {
        let catalog = catalog
        return try await detached(database: catalog.databasePath, progress: progress) { monitor throws(EngineError) in
            try catalog.validate(backup: backup, monitor: monitor).map { BackupValidation(backupId: $0.id, valid: $0.ok, problem: $0.error) }
        }
    }

    /// Captures what is committed now, closes the online log and archives every closed log
    /// (what a capture service does continuously). Returns the newest archived SCN.
    @discardableResult
    public func archiveLogs() async throws(CairnError) -> UInt64 {
        let catalog = catalog
        return try await detached(database: catalog.databasePath, progress: nil) { _ throws(EngineError) in try catalog.archiveOnce().archivedScn }
    }

    /// Names the current point (the newest captured transaction) so a restore can return to it.
    @discardableResult
    public func createRestorePoint(_ name: String) async throws(CairnError) -> UInt64 {
        let catalog = catalog
        return try await detached(database: catalog.databasePath, progress: nil) { _ throws(EngineError) in try catalog.createRestorePoint(name).scn }
    }

    /// Deletes the backups and archived logs the retention policy no longer needs.
    public func deleteObsolete() async throws(CairnError) {
        let catalog = catalog
        _ = try await detached(database: catalog.databasePath, progress: nil) { _ throws(EngineError) in try catalog.deleteObsolete() }
    }

    /// A service that captures every commit as it happens and archives the logs, for a
    /// `ServiceGroup` (swift-service-lifecycle); see `CaptureService`.
    public func captureService(logger: Logger = Logger(label: "cairn.capture")) -> CaptureService {
        CaptureService(catalog: catalog, logger: logger)
    }

    static func target(_ point: RecoveryPoint, _ catalog: Catalog) throws(EngineError) -> RecoveryTarget {
        switch point {
        case .latest: return .complete
        case let .scn(n): return .scn(n)
        case let .time(t): return .time(t)
        case let .restorePoint(name): return try catalog.restorePointTarget(name)
        case .backupOnly: return .backupOnly
        }
    }
}
