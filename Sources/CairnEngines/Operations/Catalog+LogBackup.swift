import Foundation
import CairnFormats
import CairnCatalog

/// Archived-log backups (`cairn backup DB --archivelog [--delete-input]`): archived logs put
/// into backup sets in the repository, so they can leave the archive destinations (the
/// recovery area). Recovery takes them out of the sets by itself.
extension Catalog {
    package struct LogBackupReport: Sendable, Codable {
        /// The new archived-log backup set; nil when there was nothing to back up.
        package var backup: BackupRecord?
        /// The logs the set holds.
        package var logs: [LogKey]
        /// Archived copies removed by `--delete-input`.
        package var deleted: [String]
        /// Archived copies `--delete-input` could not remove (they stay recorded as they were).
        package var deleteFailures: [String]
        package var message: String
    }

    /// Archived logs (ARCHIVED, with at least one archived copy) that no available
    /// archived-log backup set holds yet, oldest first.
    static func logsNeedingBackup(_ c: ControlFile) -> [LogRecord] {
        let held = Set(c.backups.filter { $0.kind == .archivedLogs && $0.isAvailable }.flatMap { $0.logs ?? [] })
        return c.redo.logs
            .filter { $0.status == .archived && $0.destinations.contains { $0.state == .archived } && !held.contains($0.key) }
            .sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
    }

    /// Backs up every archived log no available archived-log set holds into one new set,
    /// verified and durable before it is recorded (and the logs marked as held by it). With
    /// `deleteInput`, the archived copies of exactly those logs are then removed from every
    /// archive destination (online logs are never touched).
    @discardableResult
    package func backupArchivedLogs(_ options: BackupOptions = BackupOptions(), deleteInput: Bool = false) throws(EngineError) -> LogBackupReport {
        let operation = try beginOperation(.writing, purpose: "back up archived logs")
        defer { operation.end() }
        let (c, logs, busy) = try pinLogsNeedingBackup(operation)
        guard !logs.isEmpty else {
            let archived = c.redo.logs.filter { $0.status == .archived }.count
            let message = busy > 0
                ? "nothing to back up: the \(busy) archived log(s) that no archived-log backup set holds yet are being backed up by another command"
                : archived == 0
                ? "nothing to back up: \(databasePath) has no archived logs yet"
                : "nothing to back up: each of the \(archived) archived log(s) is already in an available archived-log backup set"
            return LogBackupReport(backup: nil, logs: [], deleted: [], deleteFailures: [], message: message)
        }
        let owner = try claimBackupId()
        defer { owner.release() }
        let id = owner.id
        let engine = LogBackupEngine(layout: layout, dbid: dbid, logger: logger, keys: try layout.writingKeys(c.encryption))
        let r = try engine.run(owner: owner, logs: logs, redo: c.redo, databaseName: (databasePath as NSString).lastPathComponent, options: options)
        let record = BackupRecord(manifest: r.manifest, bytes: r.manifest.storedBytes + (FileSystem.fileSize(r.directory + "/" + BackupManifest.fileName) ?? 0),
                                  directory: "backups/" + RepositoryLayout.backupDirectoryName(id))
        do throws(EngineError) {
            try transact { (c: inout ControlFile) throws(EngineError) in
                c.backups.append(record)
                c.nextBackupId = max(c.nextBackupId, record.id + 1)
                for key in record.logs ?? [] {
                    guard let i = c.redo.logs.firstIndex(where: { $0.key == key }) else { continue }
                    var sets = c.redo.logs[i].backupSets ?? []
                    if !sets.contains(record.id) { sets.append(record.id) }
                    c.redo.logs[i].backupSets = sets
                }
            }
        } catch {
            // Never leave a backup the control file does not know of.
            FileSystem.removeTree(r.directory)
            throw error
        }
        // The set holds them now: deletions may go ahead (`--delete-input` is one).
        operation.releasePins()
        var report = LogBackupReport(backup: record, logs: record.logs ?? [], deleted: [], deleteFailures: [],
                                     message: "archived-log backup \(record.id): \(logs.count) log(s) through SCN \(record.scn), verified")
        // Before any copy goes: the remotes get the set first.
        shipToRemotes(after: "archived-log backup \(record.id)")
        if deleteInput {
            (report.deleted, report.deleteFailures) = deleteArchivedCopies(heldBy: record)
        }
        return report
    }

    /// Removes the archived copies of the logs `set` holds from every archive destination:
    /// each copy is made unreachable first, the deletions are recorded (state DELETED), then
    /// the copies are removed. A crash leaves either the copy or a harmless leftover.
    func deleteArchivedCopies(heldBy set: BackupRecord) -> (deleted: [String], failures: [String]) {
        let purpose = "delete the archived copies of the logs backed up"
        do throws(EngineError) {
            return try deleting(purpose: purpose) { (session: DeletionSession) throws(EngineError) -> DeletionStep<(deleted: [String], failures: [String])> in
                let keys = (set.logs ?? []).filter { key in control.redo.logs.contains { $0.key == key && $0.destinations.contains { $0.state != .deleted } } }
                if session.readersActive && !keys.isEmpty { return .blocked(lockFile: layout.filesLockFile) }
                if let busy = keys.first(where: session.inUse(log:)) { return .blocked(lockFile: layout.pinFile(log: busy)) }
                return .done(retireArchivedCopies(heldBy: set))
            }
        } catch {
            return ([], ["the archived copies were kept: \(error.description)"])
        }
    }

    /// The deletion itself, under the deletion lock, with nothing of it in use.
    private func retireArchivedCopies(heldBy set: BackupRecord) -> (deleted: [String], failures: [String]) {
        let keys = Set(set.logs ?? [])
        let c = control
        var retired: [(key: LogKey, destination: String, name: String)] = []
        var failures: [String] = []
        for log in c.redo.logs where keys.contains(log.key) && (log.backupSets ?? []).contains(set.id) {
            for d in log.destinations where d.state != .deleted {
                let dest = Archiver.destination(d.destination)
                do throws(EngineError) {
                    if try dest.retire(log.fileName) { retired.append((log.key, d.destination, log.fileName)) }
                } catch {
                    failures.append("\(d.destination)/\(log.fileName): \(error.description)")
                }
            }
        }
        guard !retired.isEmpty else { return ([], failures) }
        do throws(EngineError) {
            try transact { (c: inout ControlFile) throws(EngineError) in
                for r in retired {
                    guard let li = c.redo.logs.firstIndex(where: { $0.key == r.key }),
                          let di = c.redo.logs[li].destinations.firstIndex(where: { $0.destination == r.destination }) else { continue }
                    c.redo.logs[li].destinations[di].state = .deleted
                    c.redo.logs[li].destinations[di].error = nil
                }
            }
        } catch {
            // Not recorded: put every copy back as it was.
            for r in retired { Archiver.destination(r.destination).unretire(r.name) }
            return ([], failures + retired.map { "\($0.destination)/\($0.name): the deletion could not be recorded (\(error.description)); the copy was kept" })
        }
        for r in retired { Archiver.destination(r.destination).purgeRetired(r.name) }
        for d in Set(retired.map(\.destination)) where ArchiveDestinations.isLocal(d) { try? FileSystem.fsyncDirectory(Archiver.destination(d).name) }
        return (retired.map { "\($0.destination)/\($0.name)" }, failures)
    }

    /// Under the deletion lock: the control file as it is now, the archived logs no available
    /// set holds yet that this operation could pin (another archived-log backup has the
    /// others), and how many were left to that other backup.
    private func pinLogsNeedingBackup(_ operation: RepositoryOperation) throws(EngineError) -> (ControlFile, [LogRecord], Int) {
        let session = try deletionSession(files: false, purpose: "choose the archived logs to back up")
        defer { session.end() }
        // A capture running elsewhere records logs as it archives them: read the control file afresh.
        let c = control
        let needed = Self.logsNeedingBackup(c)
        let pinned = Set(try operation.pin(backups: [], logs: needed.map(\.key), under: session))
        return (c, needed.filter { pinned.contains($0.key) }, needed.count - pinned.count)
    }

    /// Refuses an archived-log set where a backup of the database is needed.
    func requireDatabaseBackup(_ r: BackupRecord) throws(EngineError) {
        if !r.isDatabaseBackup {
            throw .invalidArgument("Backup \(r.id) is an archived-log backup set: it holds logs, not the database. Restore from a database backup (`cairn list backups \(databasePath)`); recovery takes logs from the set by itself. `cairn validate \(databasePath) --backup \(r.id)` checks it.")
        }
    }

    /// Verifies every log of an archived-log backup set: each stored file's size and XXH3,
    /// then its decompressed content against the log's size and XXH3.
    func validateArchivedLogSet(_ r: BackupRecord) throws(EngineError) {
        let dir = backupDirectory(r)
        guard FileSystem.isDirectory(dir) else {
            throw .missingFile(path: dir, detail: "the directory of archived-log backup \(r.id) is gone")
        }
        let m = try BackupManifest.read(directory: dir)
        guard m.backupId == r.id, m.kind == .archivedLogs, m.dbid == control.dbid, (m.logs ?? []).map(\.key) == (r.logs ?? []) else {
            throw .corrupt(file: dir + "/" + BackupManifest.fileName, offset: nil,
                           detail: "the manifest describes \(m.kind.rawValue) backup \(m.backupId) of DBID \(m.dbid) with \(m.logs?.count ?? 0) log(s), but the control file records archived-log backup \(r.id) of DBID \(control.dbid) with \(r.logs?.count ?? 0)")
        }
        try ArchivedLogSetReader().checkAll(directory: dir, manifest: m)
    }
}
