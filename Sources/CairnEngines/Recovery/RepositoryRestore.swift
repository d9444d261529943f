import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Restore from a repository alone (invariant 6): a machine with nothing but a copy of the
/// repository directory — no control file, no database, possibly a read-only copy at another
/// path. The control file is built in memory from the repository (`CatalogRebuilder.scan`)
/// and recovery runs through the normal `RecoveryEngine` with every check. Nothing is
/// written into the repository, and the database's original path is never touched.
extension Catalog {
    /// The database described by `repository`, opened in memory and read-only: archive
    /// destinations that do not exist here are skipped; the repository's own `archive/` and
    /// online logs are used. Any attempt to record something throws `readOnlyCatalog`.
    package static func openRepositoryAlone(_ repository: String, fetcher: (any BackupFileFetcher)? = nil,
                                           logger: Logger = Logger(label: "cairn")) throws(EngineError) -> (Catalog, CatalogRebuilder.Report) {
        let root = FileSystem.resolved(repository)
        guard FileSystem.isDirectory(root) else {
            throw .missingFile(path: root, detail: "the repository directory given with --repo does not exist")
        }
        var options = CatalogRebuilder.ScanOptions()
        options.verifyBackupFiles = false // the restore verifies every byte it reads
        options.includeOnlineLogs = true
        options.existingDestinationsOnly = true
        options.backupFilesFetchedLater = fetcher != nil
        let (control, report) = try CatalogRebuilder.scan(repository: root, options: options)
        for s in report.skipped { logger.info("\(s)") }
        let p = Catalog(databasePath: control.databasePath, store: .inMemory(control), logger: logger)
        p.backupFileFetcher = fetcher
        return (p, report)
    }

    /// `cairn restore --repo DIR --to PATH [target]`: restores and recovers into a new file
    /// at `path` from the repository alone.
    package static func restoreFromRepository(_ repository: String, to path: String, target: RecoveryTarget, backup id: UInt64? = nil,
                                             force: Bool = false, allowIncomplete: Bool = false,
                                             monitor: OperationMonitor = OperationMonitor(),
                                             logger: Logger = Logger(label: "cairn")) throws(EngineError) -> RecoveryEngine.Result {
        let (p, _) = try openRepositoryAlone(repository, logger: logger)
        return try p.recoverDetached(to: path, target: target, backup: id, force: force, allowIncomplete: allowIncomplete, monitor: monitor)
    }

    /// Restores into a new file at `path` without recording anything (the in-memory control
    /// file of a repository alone).
    package func recoverDetached(to path: String, target: RecoveryTarget, backup id: UInt64? = nil, force: Bool = false,
                                allowIncomplete: Bool = false, incarnation: Int? = nil, recordPoint: Bool = false,
                                monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> RecoveryEngine.Result {
        let dest = FileSystem.resolved(path)
        if dest == layout.root || dest.hasPrefix(layout.root + "/") {
            throw .invalidSetting(.restoreTarget, value: path, problem: "inside the repository \(layout.root); restoring from a repository alone never writes into it. Choose a path outside it.")
        }
        if FileSystem.isDirectory(dest) { throw .invalidSetting(.restoreTarget, value: path, problem: "a directory; give the path of the file to create.") }
        return try restoreNewFile(dest, target: target, backup: id, force: force, allowIncomplete: allowIncomplete,
                                  incarnation: incarnation, recordPoint: recordPoint, monitor: monitor)
    }
}
