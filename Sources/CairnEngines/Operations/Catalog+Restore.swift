import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    func reader(for r: BackupRecord, monitor: OperationMonitor) throws(EngineError) -> BackupReader {
        try requireDatabaseBackup(r)
        if backupCopies[r.id] == nil { try backupFileFetcher?.fetch(r.directory, into: layout.root) }
        let dir = backupDirectory(r)
        guard FileSystem.isDirectory(dir) else {
            throw .missingFile(path: dir, detail: "the directory of backup \(r.id) is gone")
        }
        let m = try BackupManifest.read(directory: dir)
        guard m.backupId == r.id, m.stateChecksum == r.stateChecksum, m.scn == r.scn else {
            throw .corrupt(file: dir + "/" + BackupManifest.fileName, offset: nil,
                           detail: "the manifest describes backup \(m.backupId) at SCN \(m.scn), but the control file records backup \(r.id) at SCN \(r.scn)")
        }
        var reader = BackupReader(directory: dir, manifest: m, expectedDbid: dbid)
        reader.monitor = monitor
        return reader
    }

    /// Restores backup `id` (default: the latest) as it is, into a new file at `path`.
    @discardableResult
    package func restore(to path: String, backup id: UInt64? = nil, force: Bool = false,
                        monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> BackupRecord {
        let r = try record(id)
        _ = try recover(to: path, target: .backupOnly, backup: r.id, force: force, monitor: monitor)
        return r
    }

    /// Replaces the live database with backup `id` (default: the latest) after verifying it;
    /// a point before the newest opens a new incarnation.
    @discardableResult
    package func restoreInPlace(backup id: UInt64? = nil, monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> BackupRecord {
        let r = try record(id)
        _ = try recoverInPlace(target: .backupOnly, backup: r.id, monitor: monitor)
        return r
    }

    /// Reads and verifies backup `id` (default: the latest) as a restore would, writing nothing.
    package func validateRestore(backup id: UInt64? = nil, monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> BackupRecord {
        let operation = try beginReadingStoredFiles(purpose: "validate a backup")
        defer { operation.end() }
        let r = try record(id)
        try withBackupFallback { () throws(EngineError) in try RestoreEngine(reader: reader(for: r, monitor: monitor)).validate() }
        return r
    }

    package struct ValidationResult: Sendable, Codable {
        package let id: UInt64
        package let ok: Bool
        package let error: String?
    }

    /// Verifies one backup, or every recorded backup; a failure of one does not stop the others.
    package func validate(backup id: UInt64? = nil, monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> [ValidationResult] {
        let operation = try beginReadingStoredFiles(purpose: "validate backups")
        defer { operation.end() }
        let targets = id != nil ? [try record(id)] : backups
        if targets.isEmpty { throw .noBackups(database: databasePath) }
        var results: [ValidationResult] = []
        for r in targets {
            do throws(EngineError) {
                if r.kind == .archivedLogs {
                    try validateArchivedLogSet(r)
                } else {
                    try RestoreEngine(reader: reader(for: r, monitor: monitor)).validate()
                }
                results.append(ValidationResult(id: r.id, ok: true, error: nil))
            } catch {
                results.append(ValidationResult(id: r.id, ok: false, error: error.description))
            }
        }
        return results
    }
}
