import Foundation
import Logging

/// Rebuilds the control file of a database from its repository alone: the identity, the
/// catalog (incarnations, settings), every backup's manifest and every archived log, each
/// verified. Capture then restarts from the database as it is, behind a recorded gap, since
/// what was only in the lost control file and online logs cannot be known.
public enum CatalogRebuilder {
    public struct Report: Sendable, Codable {
        public var dbid: String
        public var backups: Int
        public var logs: Int
        public var incarnation: Int
        public var scn: UInt64
        public var skipped: [String]
    }

    public static func rebuild(database: String, repository: String?, logger: Logger = Logger(label: "cairn")) throws(CairnError) -> (ProtectedDatabase, Report) {
        let db = FileSystem.absolute(database)
        let layout = RepositoryLayout(root: repository ?? RepositoryLayout.defaultRoot(forDatabase: db))
        guard FileSystem.exists(layout.identityFile) else {
            throw .missingFile(path: layout.identityFile, detail: "no Cairn repository here; pass the repository of \(db) with --repo")
        }
        let identity = try RepositoryIdentity.read(layout)
        var skipped: [String] = []
        let catalog: RepositoryCatalog?
        do throws(CairnError) { catalog = try RepositoryCatalog.read(layout) } catch {
            skipped.append("\(RepositoryCatalog.path(layout)): \(error.description)")
            catalog = nil
        }

        // Backups.
        var backups: [BackupRecord] = []
        for name in FileSystem.list(layout.backupsDirectory) where !name.hasPrefix(".") {
            let dir = layout.backupsDirectory + "/" + name
            do throws(CairnError) {
                let m = try BackupManifest.read(directory: dir)
                guard m.dbid == identity.dbid else { skipped.append("\(dir): belongs to DBID \(m.dbid)"); continue }
                try BackupVerifier.checkTransfer(directory: dir, manifest: m)
                backups.append(BackupRecord(manifest: m, bytes: m.storedBytes + (FileSystem.fileSize(dir + "/" + BackupManifest.fileName) ?? 0),
                                            directory: "backups/" + name))
            } catch {
                skipped.append("\(dir): \(error.description)")
            }
        }

        // Archived logs, from every destination.
        let destinations = catalog?.archiveDestinations ?? [layout.archiveDirectory]
        var logs: [LogRecord] = []
        for dest in destinations {
            for name in FileSystem.list(dest) where name.hasPrefix("log-") && name.hasSuffix(".clog") {
                let path = dest + "/" + name
                do throws(CairnError) {
                    let reader = try RedoLogReader(path: path)
                    guard reader.header.dbid == UInt64(identity.dbid) else { skipped.append("\(path): belongs to another DBID"); continue }
                    var first: RedoRecord?
                    var last: RedoRecord?
                    while let r = try reader.next(strict: true) {
                        if first == nil { first = r }
                        last = r
                    }
                    guard let first, let last else { continue }
                    let inc = Int(reader.header.incarnation), seq = reader.header.sequence
                    if let i = logs.firstIndex(where: { $0.incarnation == inc && $0.sequence == seq }) {
                        logs[i].destinations.append(.init(destination: dest, state: .archived, attempts: 1, archivedAt: Date()))
                        continue
                    }
                    let size = FileSystem.fileSize(path) ?? 0
                    logs.append(LogRecord(
                        sequence: seq, incarnation: inc, group: 0, lowScn: first.scn, highScn: last.scn,
                        lowTime: Date(timeIntervalSince1970: Double(first.commitMicros) / 1e6),
                        highTime: Date(timeIntervalSince1970: Double(last.commitMicros) / 1e6),
                        records: reader.records, bytes: size, xxh3: Hash.hex(try FileSystem.hashFile(path)), status: .archived,
                        destinations: [.init(destination: dest, state: .archived, attempts: 1, archivedAt: Date())], closedAt: Date()))
                } catch {
                    skipped.append("\(path): \(error.description)")
                }
            }
        }

        // Logs held by archived-log backup sets, even when no destination has them any more.
        registerLogSets(backups, layout: layout, logs: &logs, skipped: &skipped)

        // Incarnations: from the catalog; otherwise a straight line through those seen.
        var incarnations = catalog?.incarnations ?? []
        let seen = Set(logs.map(\.incarnation) + backups.map(\.incarnation) + [1])
        for n in seen.sorted() where !incarnations.contains(where: { $0.number == n }) {
            let start = logs.filter { $0.incarnation == n }.map(\.lowScn).min() ?? 1
            incarnations.append(.init(number: n, parent: n == 1 ? nil : n - 1, resetScn: n == 1 ? 0 : start - 1, startScn: start, createdAt: Date()))
            if n > 1 { skipped.append("incarnation \(n) is not in the catalog; its branch point was assumed to be SCN \(start - 1)") }
        }
        incarnations.sort { $0.number < $1.number }
        let current = incarnations.map(\.number).max() ?? 1

        let highest = max(logs.map(\.highScn).max() ?? 0, backups.map(\.scn).max() ?? 0)
        var redo = RedoState(memberDirectories: catalog?.memberDirectories ?? [layout.onlineLogDirectory], archiveDestinations: destinations)
        let groups = catalog?.groupCount ?? 2
        redo.groups = (1...max(2, groups)).map { RedoState.LogGroup(number: $0) }
        redo.mode = catalog?.mode ?? .archivelog
        redo.minSucceed = catalog?.minSucceed ?? 1
        redo.logSizeBytes = catalog?.logSizeBytes ?? 16 << 20
        redo.archiveTimeoutSeconds = catalog?.archiveTimeoutSeconds ?? 10
        redo.walTargetBytes = catalog?.walTargetBytes ?? 4 << 20
        redo.logs = logs.sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        redo.sequence = logs.filter { $0.incarnation == current }.map(\.sequence).max() ?? 0
        var control = ControlFile(
            dbid: identity.dbid, databasePath: db, repository: layout.root,
            controlCopies: catalog?.controlCopies ?? [RepositoryLayout.besideDatabaseControlCopy(forDatabase: db), layout.controlCopy],
            incarnation: current, incarnations: incarnations, scn: highest, walCursor: nil,
            nextBackupId: (backups.map(\.id).max() ?? 0) + 1, backups: backups.sorted { $0.id < $1.id }, redo: redo,
            createdAt: Date(), updatedAt: Date())
        if let i = control.controlCopies.firstIndex(of: RepositoryLayout.besideDatabaseControlCopy(forDatabase: db)), i != 0 {
            control.controlCopies.swapAt(0, i)
        }
        for l in control.redo.logs.indices { Archiver.settle(&control, logIndex: l) }
        // Capture restarts from the database as it is now, behind a gap.
        if FileSystem.exists(db), (try? DatabaseHeader.read(db)) != nil {
            let gapScn = highest + 1
            control.redo.capture = try ProtectedDatabase.captureBaseline(database: db, layout: layout, scn: gapScn, incarnation: current)
            control.redo.gaps.append(.init(scn: gapScn, incarnation: current, detectedAt: Date(),
                                           detail: "the control file was rebuilt from the repository; changes after SCN \(highest) that were not archived are unknown"))
            control.scn = gapScn
        }
        // Move damaged copies aside, then write the rebuilt control file everywhere.
        for copy in control.controlCopies where FileSystem.exists(copy) {
            try FileSystem.rename(copy, copy + ".damaged-\(Int(Date().timeIntervalSince1970))")
        }
        let store = try ControlFileStore.create(control)
        try RepositoryCatalog.write(control, layout: layout)
        let p = ProtectedDatabase(databasePath: db, store: store, logger: logger)
        return (p, Report(dbid: identity.dbid, backups: backups.count, logs: logs.count, incarnation: current, scn: control.scn, skipped: skipped))
    }
}
