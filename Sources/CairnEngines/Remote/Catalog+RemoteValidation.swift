import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// `cairn validate DB --remote URL`: downloads the copy of every backup the remote holds
    /// (or of backup `id`) into a private directory, each file checked against the XXH3 stored
    /// with it, and reads and verifies it as a restore would; the repository is not read.
    package func validateRemote(_ url: String, backup id: UInt64? = nil, monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> [ValidationResult] {
        let operation = try beginReadingStoredFiles(purpose: "validate backups at a remote")
        defer { operation.end() }
        let c = control
        let name = ArchiveDestinations.isLocal(url) ? FileSystem.resolved(url) : RemoteRepository.normalized(url)
        guard let remote = c.remoteRepositories.first(where: { $0.url == name }) else {
            throw .invalidArgument("\(url) is not a remote of \(databasePath); `cairn configure \(databasePath) remote list` shows them.")
        }
        let ids = id.map { [$0] } ?? remote.backups.sorted()
        if ids.isEmpty { throw .noBackups(database: "\(databasePath) at \(remote.root(dbid: c.dbid))") }
        var results: [ValidationResult] = []
        for backupId in ids {
            guard let r = c.backups.first(where: { $0.id == backupId }) else { throw .backupNotFound(id: backupId, repository: remote.root(dbid: c.dbid)) }
            results.append(validateCopy(of: r, at: remote, dbid: c.dbid, monitor: monitor))
        }
        return results
    }

    private func validateCopy(of r: BackupRecord, at remote: RemoteRepository, dbid: String, monitor: OperationMonitor) -> ValidationResult {
        do throws(EngineError) {
            let scratch = try RemoteRepositoryReader.Scratch()
            defer {
                backupCopies[r.id] = nil
                scratch.remove()
            }
            try RemoteBackupFetcher(root: remote.root(dbid: dbid)).fetch(r.directory, into: scratch.path)
            backupCopies[r.id] = scratch.path + "/" + r.directory
            if r.kind == .archivedLogs {
                try validateArchivedLogSet(r)
            } else {
                try RestoreEngine(reader: reader(for: r, monitor: monitor)).validate()
            }
            return ValidationResult(id: r.id, ok: true, error: nil)
        } catch {
            return ValidationResult(id: r.id, ok: false, error: error.description)
        }
    }
}
