import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Recreates the control file of a database from its repository alone: the identity, the
/// catalog (incarnations, settings, backup records, restore points, policy, gaps), every
/// backup's manifest and every archived log, each verified.
///
/// `scan` builds the control file in memory and writes nothing (restore from a repository
/// alone uses it, even on a read-only copy of the repository at another path); `rebuild`
/// scans, then registers the result: capture restarts from the database as it is, behind a
/// recorded gap, since what was only in the lost control file and online logs cannot be known.
package enum CatalogRebuilder {
    package struct Report: Sendable, Codable {
        package var dbid: String
        package var backups: Int
        package var logs: Int
        package var incarnation: Int
        package var scn: UInt64
        package var skipped: [String]
    }

    package struct ScanOptions: Sendable {
        /// Re-read every backup file and check its XXH3 (otherwise presence and size only;
        /// a restore verifies every byte it reads anyway).
        package var verifyBackupFiles = true
        /// Also use the online logs found in the repository's member directories (logs
        /// captured but not archived yet, and the open current log).
        package var includeOnlineLogs = false
        /// Only archive destinations that exist here, plus the repository's own `archive/`.
        package var existingDestinationsOnly = false
        /// Backups are manifests only here, their other files downloaded when used (see
        /// `BackupFileFetcher`): only the manifests are checked.
        package var backupFilesFetchedLater = false
        package init() {}
    }

    /// Builds the control file of the repository's database from the repository alone,
    /// writing nothing. `database` (when given) is the path the control file will name.
    package static func scan(repository: String, database: String? = nil, options: ScanOptions = ScanOptions()) throws(EngineError) -> (ControlFile, Report) {
        let layout = RepositoryLayout(root: repository)
        guard FileSystem.exists(layout.identityFile) else {
            throw .missingFile(path: layout.identityFile, detail: "no Cairn repository here; pass the directory that holds repository.json, backups/ and archive/")
        }
        let identity = try RepositoryIdentity.read(layout)
        layout.registerKeyring()
        var skipped: [String] = []
        let catalog: RepositoryCatalog?
        if FileSystem.exists(RepositoryCatalog.path(layout)) {
            do throws(EngineError) { catalog = try RepositoryCatalog.read(layout) } catch {
                if error.isEncryptionKeyProblem { throw error }
                skipped.append("\(RepositoryCatalog.path(layout)): \(error.description)")
                catalog = nil
            }
        } else {
            skipped.append("\(RepositoryCatalog.path(layout)): missing; incarnations and settings were inferred")
            catalog = nil
        }
        if let c = catalog, let id = c.dbid, id != identity.dbid {
            throw .dbidMismatch(database: layout.root, expected: UInt64(identity.dbid) ?? 0, found: UInt64(id) ?? 0, file: RepositoryCatalog.path(layout))
        }
        func reroot(_ p: String) -> String { catalog?.rerooted(p, to: layout.root) ?? p }
        let db = FileSystem.absolute(database ?? catalog?.databasePath
                                     ?? FileSystem.parent(of: layout.root) + "/" + identity.databaseName)

        // Backups: every manifest found, merged with what the catalog recorded about it.
        var backups: [BackupRecord] = []
        var manifests: [UInt64: BackupManifest] = [:]
        for name in FileSystem.list(layout.backupsDirectory) where !name.hasPrefix(".") {
            let dir = layout.backupsDirectory + "/" + name
            do throws(EngineError) {
                let m = try BackupManifest.read(directory: dir)
                guard m.dbid == identity.dbid else { skipped.append("\(dir): belongs to DBID \(m.dbid)"); continue }
                let names = options.verifyBackupFiles ? [] : Set(m.files.map(\.name))
                if !options.backupFilesFetchedLater { try BackupVerifier.checkTransfer(directory: dir, manifest: m, reread: names) }
                var record = BackupRecord(manifest: m, bytes: m.storedBytes + (FileSystem.fileSize(dir + "/" + BackupManifest.fileName) ?? 0),
                                          directory: "backups/" + name)
                if let known = catalog?.backups?.first(where: { $0.id == m.backupId }),
                   known.scn == m.scn, known.stateChecksum == m.stateChecksum, known.directory == record.directory {
                    record = known
                    record.status = nil // its files are here and check out
                }
                backups.append(record)
                manifests[m.backupId] = m
            } catch {
                skipped.append("\(dir): \(error.description)")
            }
        }
        // Backups the catalog records whose files are gone or damaged: kept, as EXPIRED.
        for known in catalog?.backups ?? [] where !backups.contains(where: { $0.id == known.id }) {
            var r = known
            r.status = .expired
            backups.append(r)
            skipped.append("backup \(known.id) (\(known.directory)): recorded in the catalog but its files are missing or damaged; recorded as EXPIRED")
        }

        // Archived logs, from every archive destination that exists here.
        var destinations = (catalog?.archiveDestinations ?? [layout.archiveDirectory]).map(reroot)
        if options.existingDestinationsOnly {
            for d in destinations where !FileSystem.isDirectory(d) {
                skipped.append("archive destination \(d): recorded in the catalog but not present here; skipped")
            }
            destinations = destinations.filter(FileSystem.isDirectory)
            if FileSystem.isDirectory(layout.archiveDirectory) && !destinations.contains(layout.archiveDirectory) {
                destinations.append(layout.archiveDirectory)
            }
        }
        var logs: [LogRecord] = []
        for dest in destinations {
            for name in FileSystem.list(dest) where name.hasPrefix("log-") && name.hasSuffix(".clog") {
                let path = dest + "/" + name
                do throws(EngineError) {
                    guard let log = try scanLog(path, dbid: identity.dbid, skipped: &skipped) else { continue }
                    if let i = logs.firstIndex(where: { $0.key == log.key }) {
                        logs[i].destinations.append(.init(destination: dest, state: .archived, attempts: 1, archivedAt: Date()))
                        continue
                    }
                    var l = log
                    l.status = .archived
                    l.destinations = [.init(destination: dest, state: .archived, attempts: 1, archivedAt: Date())]
                    logs.append(l)
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
        let current = catalog?.incarnation.flatMap { n in incarnations.contains { $0.number == n } ? n : nil }
            ?? incarnations.map(\.number).max() ?? 1

        var redo = RedoState(memberDirectories: (catalog?.memberDirectories ?? [layout.onlineLogDirectory]).map(reroot),
                             archiveDestinations: destinations)
        let groups = catalog?.groupCount ?? 2
        redo.groups = (1...max(2, groups)).map { RedoState.LogGroup(number: $0) }
        redo.mode = catalog?.mode ?? .archivelog
        redo.minSucceed = catalog?.minSucceed ?? 1
        redo.logSizeBytes = catalog?.logSizeBytes ?? 16 << 20
        redo.archiveTimeoutSeconds = catalog?.archiveTimeoutSeconds ?? 10
        redo.walTargetBytes = catalog?.walTargetBytes ?? 4 << 20
        redo.gaps = catalog?.gaps ?? []
        if options.includeOnlineLogs {
            scanOnlineLogs(&redo, logs: &logs, dbid: identity.dbid, incarnation: current, skipped: &skipped)
        }
        redo.logs = logs.sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        redo.sequence = max(redo.sequence, logs.filter { $0.incarnation == current }.map(\.sequence).max() ?? 0)

        let highest = max(logs.map(\.highScn).max() ?? 0, backups.map(\.scn).max() ?? 0)
        var copies = (catalog?.controlCopies ?? [RepositoryLayout.besideDatabaseControlCopy(forDatabase: db), layout.controlCopy]).map(reroot)
        // The copy beside the database follows the database's path (it may have moved).
        if let old = catalog?.databasePath, old != db {
            let oldBeside = RepositoryLayout.besideDatabaseControlCopy(forDatabase: old)
            copies = copies.map { $0 == oldBeside ? RepositoryLayout.besideDatabaseControlCopy(forDatabase: db) : $0 }
        }
        var control = ControlFile(
            dbid: identity.dbid, databasePath: db, repository: layout.root, controlCopies: copies,
            incarnation: current, incarnations: incarnations, scn: highest, walCursor: nil,
            nextBackupId: max(catalog?.nextBackupId ?? 0, (backups.map(\.id).max() ?? 0) + 1),
            backups: backups.sorted { $0.id < $1.id }, redo: redo,
            createdAt: catalog?.createdAt ?? identity.createdAt, updatedAt: Date())
        control.policy = catalog?.policy ?? Policy()
        control.restorePoints = catalog?.restorePoints ?? []
        control.fileMode = catalog?.fileMode
        if let e = catalog?.encryption { control.encryption = e } else { control.encryption = try Self.encryption(layout) }
        for l in control.redo.logs.indices { Archiver.settle(&control, logIndex: l) }
        return (control, Report(dbid: identity.dbid, backups: backups.filter(\.isAvailable).count, logs: logs.count,
                                incarnation: current, scn: control.scn, skipped: skipped))
    }

    /// Reads one closed log completely (every record and the trailer verified); nil when it
    /// holds no record.
    static func scanLog(_ path: String, dbid: String, skipped: inout [String]) throws(EngineError) -> LogRecord? {
        let reader = try RedoLogReader(path: path)
        guard reader.header.dbid == UInt64(dbid) else { skipped.append("\(path): belongs to another DBID"); return nil }
        var first: RedoRecord?
        var last: RedoRecord?
        while let r = try reader.next(strict: true) {
            if first == nil { first = r }
            last = r
        }
        guard let first, let last else { return nil }
        return LogRecord(
            sequence: reader.header.sequence, incarnation: Int(reader.header.incarnation), group: 0, lowScn: first.scn, highScn: last.scn,
            lowTime: Date(timeIntervalSince1970: Double(first.commitMicros) / 1e6),
            highTime: Date(timeIntervalSince1970: Double(last.commitMicros) / 1e6),
            records: reader.records, bytes: FileSystem.fileSize(path) ?? 0, xxh3: Hash.hex(try FileSystem.hashFile(path)), status: .archived,
            destinations: [], closedAt: Date())
    }

    /// Adds the logs found in the online log members: closed ones not archived yet (ONLINE,
    /// found again by their group) and the open current log of the current incarnation.
    static func scanOnlineLogs(_ redo: inout RedoState, logs: inout [LogRecord], dbid: String, incarnation: Int, skipped: inout [String]) {
        var open: (group: Int, sequence: UInt64)?
        for dir in redo.memberDirectories where FileSystem.isDirectory(dir) {
            for name in FileSystem.list(dir) where name.hasPrefix("redo-g") && name.hasSuffix(".log") {
                guard let g = Int(name.dropFirst(6).dropLast(4)), g >= 1 else { continue }
                let path = dir + "/" + name
                guard let reader = try? RedoLogReader(path: path), reader.header.dbid == UInt64(dbid) else { continue }
                let key = LogKey(incarnation: Int(reader.header.incarnation), sequence: reader.header.sequence)
                if logs.contains(where: { $0.key == key }) { continue }
                while g > redo.groups.count { redo.groups.append(RedoState.LogGroup(number: redo.groups.count + 1)) }
                if let closed = try? scanLog(path, dbid: dbid, skipped: &skipped) {
                    var l = closed
                    l.status = .online
                    l.group = g
                    logs.append(l)
                    redo.groups[g - 1].status = .active
                    redo.groups[g - 1].sequence = key.sequence
                    redo.groups[g - 1].incarnation = key.incarnation
                } else if key.incarnation == incarnation, open.map({ key.sequence > $0.sequence }) ?? true {
                    open = (g, key.sequence)
                }
            }
        }
        if let open, !logs.contains(where: { $0.incarnation == incarnation && $0.sequence >= open.sequence }) {
            redo.groups[open.group - 1].status = .current
            redo.groups[open.group - 1].sequence = open.sequence
            redo.groups[open.group - 1].incarnation = incarnation
            redo.currentGroup = open.group - 1
            redo.sequence = open.sequence
        }
    }

    /// Rebuilds the control file of `database` from its repository and writes it everywhere,
    /// alone on the repository: it waits (per `wait`) for every other Cairn command and for a
    /// running capture to finish, and they wait for it.
    package static func rebuild(database: String, repository: String?, logger: Logger = Logger(label: "cairn"),
                               wait: LockWaitPolicy = LockWaitPolicy()) throws(EngineError) -> (Catalog, Report) {
        let db = FileSystem.resolved(database)
        let layout = RepositoryLayout(root: repository.map(FileSystem.resolved) ?? RepositoryLayout.defaultRoot(forDatabase: db))
        guard FileSystem.exists(layout.identityFile) else {
            throw .missingFile(path: layout.identityFile, detail: "no Cairn repository here; pass the repository of \(db) with --repo")
        }
        let purpose = "rebuild the control file"
        let log: (String) -> Void = { logger.warning("\($0)") }
        let operation = try RepositoryOperation(layout: layout, access: .exclusive, purpose: purpose, policy: wait, log: log)
        defer { operation.end() }
        let capture = try CaptureLockWait.take(layout: layout, policy: wait, purpose: purpose, log: log)
        defer { _ = capture }
        var (control, report) = try scan(repository: layout.root, database: db)
        if let i = control.controlCopies.firstIndex(of: RepositoryLayout.besideDatabaseControlCopy(forDatabase: db)), i != 0 {
            control.controlCopies.swapAt(0, i)
        }
        Catalog.registerPermissions(control, database: db)
        // Capture restarts from the database as it is now, behind a gap.
        let highest = control.scn
        if FileSystem.exists(db), (try? DatabaseHeader.read(db)) != nil {
            let gapScn = highest + 1
            control.redo.capture = try Catalog.captureBaseline(database: db, layout: layout, scn: gapScn, incarnation: control.incarnation,
                                                               keys: try layout.writingKeys(control.encryption))
            control.redo.gaps.append(.init(scn: gapScn, incarnation: control.incarnation, detectedAt: Date(),
                                           detail: "the control file was rebuilt from the repository; changes after SCN \(highest) that were not archived are unknown"))
            control.scn = gapScn
        }
        // Move damaged copies aside, then write the rebuilt control file everywhere, numbered
        // after every copy there was (a process that read one adopts the rebuilt one).
        let lastUSN = ControlFileStore.newestCopy(control.controlCopies)?.usn ?? 0
        for copy in control.controlCopies where FileSystem.exists(copy) {
            try FileSystem.rename(copy, copy + ".damaged-\(Int(Date().timeIntervalSince1970))")
        }
        let store = try ControlFileStore.create(control, after: lastUSN)
        try RepositoryCatalog.write(control, layout: layout)
        let p = Catalog(databasePath: db, store: store, logger: logger)
        report.scn = control.scn
        return (p, report)
    }
}
