import Foundation
import CairnFormats
import CairnCatalog

extension CatalogRebuilder {
    /// Registers the logs that the available archived-log backup sets among `backups` hold:
    /// a log already found in an archive destination gets the set added to its `backupSets`;
    /// a log no destination has any more is recorded from the set's manifest (ARCHIVED, with
    /// no destination copy). The sets' files were checked against their manifests already.
    static func registerLogSets(_ backups: [BackupRecord], layout: RepositoryLayout, logs: inout [LogRecord], skipped: inout [String]) {
        for set in backups.sorted(by: { $0.id < $1.id }) where set.kind == .archivedLogs && set.isAvailable {
            let dir = layout.root + "/" + set.directory
            let m: BackupManifest
            do throws(EngineError) { m = try BackupManifest.read(directory: dir) } catch {
                skipped.append("\(dir): \(error.description)")
                continue
            }
            for e in m.logs ?? [] {
                if let i = logs.firstIndex(where: { $0.key == e.key }) {
                    guard logs[i].bytes == e.logBytes, logs[i].xxh3 == e.logXXH3 else {
                        skipped.append("\(dir)/\(e.name): holds log sequence \(e.sequence) of incarnation \(e.incarnation) with checksum \(e.logXXH3), but the archived copy has \(logs[i].xxh3); the set's copy is not registered")
                        continue
                    }
                    var sets = logs[i].backupSets ?? []
                    if !sets.contains(set.id) { sets.append(set.id) }
                    logs[i].backupSets = sets
                    continue
                }
                logs.append(LogRecord(
                    sequence: e.sequence, incarnation: e.incarnation, group: 0, lowScn: e.lowScn, highScn: e.highScn,
                    lowTime: e.lowTime, highTime: e.highTime, records: e.records, bytes: e.logBytes, xxh3: e.logXXH3,
                    status: .archived, destinations: [], closedAt: m.completedAt, backupSets: [set.id]))
            }
        }
    }
}
