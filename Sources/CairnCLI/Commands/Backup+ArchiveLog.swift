import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

extension Backup {
    /// `cairn backup DB --archivelog [--delete-input]`.
    func backupArchivedLogs(_ options: BackupOptions) throws(EngineError) {
        guard archivelog else { throw .invalidArgument("--delete-input goes with --archivelog: it removes the archived copies of the logs that backup puts into a set.") }
        guard !asCopy else { throw .invalidArgument("--as-copy makes an image copy of the database; it does not go with --archivelog.") }
        guard level == 0, !cumulative else { throw .invalidArgument("--level and --cumulative apply to database backups; an archived-log backup has no level. Drop them or --archivelog.") }
        guard options.compressionLevel != nil else {
            throw .invalidArgument("--archivelog stores every log as a zstd stream; --compression none does not apply (use fast or a zstd level).")
        }
        let report = try db.open(waiting).backupArchivedLogs(options, deleteInput: deleteInput)
        if json { Output.json(LogBackupRow(report)); return }
        guard let r = report.backup else { print(report.message); return }
        print("backup \(r.id) complete: archived-log backup set of \(report.logs.count) log(s) through SCN \(r.scn), \(Output.bytes(r.bytes)) stored, verified")
        if deleteInput {
            print("removed \(report.deleted.count) archived cop\(report.deleted.count == 1 ? "y" : "ies") of those logs from the archive destinations")
        }
        for f in report.deleteFailures { print("warning: not removed: \(f)") }
    }
}

/// `backup --archivelog --json`: the new set (null when there was nothing to back up), its
/// logs, and the archived copies `--delete-input` removed.
struct LogBackupRow: Encodable {
    let backup: BackupRow?
    let logs: [LogKey]
    let deleted: [String]
    let deleteFailures: [String]
    let message: String

    init(_ r: Catalog.LogBackupReport) {
        backup = r.backup.map(BackupRow.init)
        logs = r.logs; deleted = r.deleted; deleteFailures = r.deleteFailures; message = r.message
    }

    enum CodingKeys: String, CodingKey { case backup, logs, deleted, deleteFailures, message }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(backup, forKey: .backup); try c.encode(logs, forKey: .logs); try c.encode(deleted, forKey: .deleted)
        try c.encode(deleteFailures, forKey: .deleteFailures); try c.encode(message, forKey: .message)
    }
}
