import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Logs that recovery takes out of archived-log backup sets: each one decompressed into a
/// temporary file in a directory the caller chose (beside the restore target), verified
/// against the control file's record and the set's manifest, and removed once used or when
/// recovery ends, whether it succeeded or not. Not Sendable: one recovery, on one thread,
/// uses it.
final class ExtractedLogs {
    /// Where temporary logs are written; the system's temporary directory when not set.
    var directory: String?
    /// Start of every temporary file's name (a dot-name, so it never looks like a log).
    var namePrefix = ".cairn-log"
    let logger: Logger
    private var files: Set<String> = []
    private var manifests: [UInt64: BackupManifest] = [:]
    private var reader: ArchivedLogSetReader?

    init(logger: Logger) { self.logger = logger }

    deinit { removeAll() }

    /// Archived-log sets that hold `record`'s log, newest first.
    static func sets(holding record: LogRecord, in control: ControlFile) -> [BackupRecord] {
        control.backups.filter { b in
            b.kind == .archivedLogs && b.isAvailable && ((b.logs ?? []).contains(record.key) || (record.backupSets ?? []).contains(b.id))
        }.sorted { $0.id > $1.id }
    }

    /// Extracts `record`'s log from the first set that holds a good copy; returns the
    /// temporary file. Every stored file tried is added to `looked` (with why it could not be
    /// used), and each failure is logged.
    func extract(_ record: LogRecord, control: ControlFile, looked: inout [String]) -> String? {
        let root = FileSystem.absolute(control.repository)
        for set in Self.sets(holding: record, in: control) {
            let dir = root + "/" + set.directory
            let stored = dir + "/" + ArchivedLogSetReader.storedName(record.key)
            do throws(EngineError) {
                let m = try manifest(set, directory: dir, dbid: control.dbid)
                guard let entry = m.logs?.first(where: { $0.key == record.key }) else {
                    throw .corrupt(file: dir + "/" + BackupManifest.fileName, offset: nil,
                                   detail: "the manifest of backup \(set.id) does not list log sequence \(record.sequence) of incarnation \(record.incarnation)")
                }
                let path = dir + "/" + entry.name
                guard entry.logBytes == record.bytes, entry.logXXH3 == record.xxh3 else {
                    throw .corrupt(file: path, offset: nil,
                                   detail: "log sequence \(record.sequence) of incarnation \(record.incarnation) was stored with \(entry.logBytes) bytes and checksum \(entry.logXXH3), but the control file records \(record.bytes) bytes and \(record.xxh3)")
                }
                let file = try ArchivedLogSetReader.file(for: entry, in: m, directory: dir)
                let temp = try temporaryPath(for: record)
                files.insert(temp)
                do throws(EngineError) {
                    let r = reader ?? ArchivedLogSetReader()
                    reader = r
                    try r.check(directory: dir, entry: entry, file: file, output: temp)
                } catch {
                    release(temp)
                    throw error
                }
                return temp
            } catch {
                logger.warning("archived-log backup \(set.id) cannot supply log sequence \(record.sequence) of incarnation \(record.incarnation): \(error.description)")
                looked.append("\(stored) (backup \(set.id): \(Self.reason(error)))")
            }
        }
        return nil
    }

    /// A short reason for `looked` lists.
    static func reason(_ e: EngineError) -> String {
        switch e {
        case let .corrupt(_, offset, detail): return "damaged" + (offset.map { " at offset \($0)" } ?? "") + ": " + detail
        case let .truncated(_, expected, actual): return "truncated: \(actual) of \(expected) bytes"
        case let .missingFile(_, detail): return "missing: " + detail
        default: return e.description
        }
    }

    private func manifest(_ set: BackupRecord, directory: String, dbid: String) throws(EngineError) -> BackupManifest {
        if let m = manifests[set.id] { return m }
        let m = try BackupManifest.read(directory: directory)
        guard m.backupId == set.id, m.kind == .archivedLogs, m.dbid == dbid else {
            throw .corrupt(file: directory + "/" + BackupManifest.fileName, offset: nil,
                           detail: "the manifest describes \(m.kind.rawValue) backup \(m.backupId) of DBID \(m.dbid), but the control file records archived-log backup \(set.id) of DBID \(dbid)")
        }
        manifests[set.id] = m
        return m
    }

    private func temporaryPath(for record: LogRecord) throws(EngineError) -> String {
        let dir = directory ?? FileSystem.absolute(NSTemporaryDirectory())
        guard FileSystem.isDirectory(dir) else { throw .missingFile(path: dir, detail: "the directory for logs taken out of backup sets does not exist") }
        return dir + "/" + namePrefix + "-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + record.fileName
    }

    /// Removes one temporary log (no-op for any other path).
    func release(_ path: String) {
        if files.remove(path) != nil { FileSystem.removeFile(path) }
    }

    /// Removes every temporary log still present.
    func removeAll() {
        let all = files
        files.removeAll()
        for f in all { FileSystem.removeFile(f) }
    }
}
