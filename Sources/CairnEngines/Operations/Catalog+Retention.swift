import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    // MARK: - Policy

    /// `cairn configure DB retention redundancy N | window DAYS | none`.
    package func setRetention(_ r: Policy.Retention) throws(EngineError) {
        switch r {
        case .redundancy(let n) where n < 1:
            throw .invalidArgument("retention redundancy \(n) is not valid: keep at least 1 backup (e.g. `redundancy 2`), or use `retention none`.")
        case .window(let d) where !(d > 0) || !d.isFinite:
            throw .invalidArgument("retention window \(d) is not valid: give a number of days greater than 0 (e.g. `window 7`).")
        default: break
        }
        let op = try beginOperation(.writing, purpose: "change the retention policy")
        defer { op.end() }
        try transact { (c: inout ControlFile) throws(EngineError) in c.policy.retention = r }
    }

    /// `cairn configure DB recovery-area-size SIZE|unlimited`.
    package func setRecoveryAreaLimit(_ limit: UInt64?) throws(EngineError) {
        if limit == 0 { throw .invalidArgument("recovery-area-size 0 is not valid: give a size such as 10G, or `unlimited`.") }
        let op = try beginOperation(.writing, purpose: "change the recovery-area size")
        defer { op.end() }
        try transact { (c: inout ControlFile) throws(EngineError) in c.policy.recoveryAreaLimit = limit }
    }

    /// Archival backups (`keepUntil`/`keepForever`) are consistent snapshots restorable on
    /// their own: level 0 only.
    static func checkArchival(_ o: BackupOptions) throws(EngineError) {
        if o.level != 0 && (o.keepUntil != nil || o.keepForever) {
            throw .invalidSetting(.keepUntil, value: "", problem: "makes an archival backup, which must be a level-0 backup (a consistent snapshot restorable on its own), not level \(o.level).")
        }
    }

    // MARK: - Obsolete

    /// What the retention policy no longer needs (`cairn report obsolete`).
    package func obsolete(now: Date = Date()) -> ObsolescenceReport {
        Obsolescence.compute(control, now: now, snapshots: recoveryArea.snapshots)
    }

    /// Deletes what the retention policy no longer needs (`cairn delete obsolete`).
    package func deleteObsolete(now: Date = Date()) throws(EngineError) -> DeletionReport {
        let op = try beginOperation(.writing, purpose: "delete obsolete backups and logs")
        defer { op.end() }
        let r = try deleteWhenFree(purpose: "delete obsolete backups and logs") { c in
            DeletionPlan(Obsolescence.compute(c, now: now, snapshots: recoveryArea.snapshots))
        }
        if r.isEmpty { return r }
        logger.info("deleted \(r.backups.count) obsolete backup(s) and \(r.logCopies.count) archived-log cop(ies), \(r.bytes) bytes")
        return r
    }

    /// Deletes backups and archived-log copies so that a crash at any moment leaves either
    /// the old state or the new one plus harmless leftovers: every file is first made
    /// unreachable (renamed to a dot-name), then the control file records the deletion, then
    /// the files are removed. If the record cannot be written the files are put back.
    /// The caller holds `session`, and nothing of `plan` is in use.
    func delete(_ plan: DeletionPlan, session: DeletionSession) throws(EngineError) -> DeletionReport {
        var report = DeletionReport()
        let c = control
        var hidden: [(from: String, to: String)] = []
        var backups: [UInt64] = []
        var existed: Set<UInt64> = []
        for id in plan.backups {
            guard let r = c.backups.first(where: { $0.id == id }) else { continue }
            let dir = layout.root + "/" + r.directory
            if FileSystem.exists(dir) {
                let aside = FileSystem.parent(of: dir) + "/" + RepositoryLayout.deletingPrefix + (dir as NSString).lastPathComponent
                FileSystem.removeTree(aside)
                do throws(EngineError) {
                    try FileSystem.rename(dir, aside)
                } catch {
                    report.failures.append("backup \(id): \(error.description)")
                    continue
                }
                hidden.append((dir, aside))
                existed.insert(id)
            }
            backups.append(id)
        }
        if !hidden.isEmpty { try? FileSystem.fsyncDirectory(layout.backupsDirectory) }
        var retired: [(key: LogKey, destination: String, existed: Bool)] = []
        for (key, dests) in plan.logCopies.sorted(by: { ($0.key.incarnation, $0.key.sequence) < ($1.key.incarnation, $1.key.sequence) }) {
            let name = LogRecord.fileName(incarnation: key.incarnation, sequence: key.sequence)
            for d in dests {
                do throws(EngineError) {
                    let was = try Archiver.destination(d).retire(name)
                    retired.append((key, d, was))
                } catch {
                    report.failures.append("log sequence \(key.sequence) (incarnation \(key.incarnation)) in \(d): \(error.description)")
                }
            }
        }
        let goneBackups = Set(backups)
        let retiredPairs = retired
        var recorded = DeletionReport()
        do throws(EngineError) {
            try transact { (c: inout ControlFile) throws(EngineError) in
                var r = DeletionReport()
                var touched = Set(plan.logCopies.keys)
                for b in c.backups where goneBackups.contains(b.id) {
                    r.backups.append(b.id)
                    if existed.contains(b.id) { r.bytes += b.bytes }
                    touched.formUnion(b.logs ?? [])
                }
                c.backups.removeAll { goneBackups.contains($0.id) }
                for i in c.redo.logs.indices where c.redo.logs[i].backupSets != nil {
                    c.redo.logs[i].backupSets!.removeAll { goneBackups.contains($0) }
                    if c.redo.logs[i].backupSets!.isEmpty { c.redo.logs[i].backupSets = nil }
                }
                for p in retiredPairs {
                    guard let li = c.redo.logs.firstIndex(where: { $0.key == p.key }),
                          let di = c.redo.logs[li].destinations.firstIndex(where: { $0.destination == p.destination }) else { continue }
                    c.redo.logs[li].destinations[di].state = .deleted
                    c.redo.logs[li].destinations[di].error = nil
                    r.logCopies.append(.init(incarnation: p.key.incarnation, sequence: p.key.sequence, destination: p.destination))
                    if p.existed { r.bytes += c.redo.logs[li].bytes }
                }
                r.logsDropped = c.dropUnheldLogs(touched)
                recorded = r
            }
        } catch {
            for h in hidden { try? FileSystem.renameNoReplace(h.to, h.from) }
            for p in retired where p.existed {
                Archiver.destination(p.destination).unretire(LogRecord.fileName(incarnation: p.key.incarnation, sequence: p.key.sequence))
            }
            throw error
        }
        session.forget(backups: recorded.backups, logs: recorded.logCopies.map { LogKey(incarnation: $0.incarnation, sequence: $0.sequence) })
        for h in hidden { FileSystem.removeTree(h.to) }
        for p in retired where p.existed {
            Archiver.destination(p.destination).purgeRetired(LogRecord.fileName(incarnation: p.key.incarnation, sequence: p.key.sequence))
        }
        recorded.failures = report.failures
        removeSnapshots(plan.snapshots, into: &recorded)
        return recorded
    }

    /// Removes automatic snapshots a deletion plan names (nothing records them: once the file
    /// is gone, so is the snapshot). A reader that has one open reads on to its end.
    private func removeSnapshots(_ names: [String], into report: inout DeletionReport) {
        guard !names.isEmpty else { return }
        let dir = StoredSnapshot.directory(root: layout.root)
        for name in names {
            let path = dir + "/" + name + StoredSnapshot.fileExtension
            let size = FileSystem.fileSize(path) ?? 0
            if unlink(path) == 0 {
                report.snapshots.append(name)
                report.bytes += size
            } else if errno != ENOENT {
                report.failures.append("snapshot \(name): \(EngineError.fromErrno("unlink", path, errno).description)")
            }
        }
        try? FileSystem.fsyncDirectory(dir)
    }

    /// Removes what interrupted deletions left behind (backup directories and archived-log
    /// copies renamed aside but not yet removed), under the deletion lock: no deletion in
    /// progress is between renaming its files aside and recording it.
    package func removeDeletionLeftovers() {
        guard let session = try? deletionSession(files: false, purpose: "remove what interrupted deletions left") else { return }
        defer { session.end() }
        for name in FileSystem.list(layout.backupsDirectory) where name.hasPrefix(RepositoryLayout.deletingPrefix) {
            FileSystem.removeTree(layout.backupsDirectory + "/" + name)
        }
        for d in control.redo.archiveDestinations { Archiver.destination(d).purgeRetired(nil) }
    }

    // MARK: - Crosscheck

    /// `cairn crosscheck`: every backup whose directory, manifest or any recorded file is gone,
    /// of the wrong size or unreadable becomes EXPIRED (AVAILABLE again when found again);
    /// every archived-log copy that is gone or of the wrong size becomes EXPIRED, and a log
    /// with no copy left (no ARCHIVED destination, no AVAILABLE log backup set) too. A copy
    /// whose destination cannot be asked (object storage out of reach) keeps its state; the
    /// report says why it was not checked.
    package func crosscheck() throws(EngineError) -> CrosscheckReport {
        let op = try beginReadingStoredFiles(.writing, purpose: "crosscheck the backups and logs")
        defer { op.end() }
        let c = control
        var backupProblems: [UInt64: String?] = [:]
        for b in c.backups { backupProblems[b.id] = Crosscheck.problem(backup: b, root: layout.root, dbid: dbid) }
        var copyProblems: [LogKey: [String: String?]] = [:]
        var unchecked: [LogKey: [String: String]] = [:]
        for l in c.redo.logs {
            for d in l.destinations where d.state == .archived || d.state == .expired {
                do throws(EngineError) {
                    copyProblems[l.key, default: [:]][d.destination] = try Crosscheck.problem(log: l, destination: d.destination)
                } catch {
                    unchecked[l.key, default: [:]][d.destination] = "not checked, left \(d.state.rawValue): \(error.description)"
                }
            }
        }
        var report = CrosscheckReport()
        try transact { (c: inout ControlFile) throws(EngineError) in
            var r = CrosscheckReport()
            for i in c.backups.indices {
                guard let problem = backupProblems[c.backups[i].id] else { continue }
                let before = c.backups[i].isAvailable
                c.backups[i].status = problem == nil ? nil : .expired
                r.backups.append(.init(id: c.backups[i].id, kind: c.backups[i].kind.rawValue,
                                       status: problem == nil ? "AVAILABLE" : "EXPIRED",
                                       previous: before ? "AVAILABLE" : "EXPIRED", problem: problem))
            }
            let held = RecoveryArea.logsInAvailableSets(c)
            for i in c.redo.logs.indices {
                let key = c.redo.logs[i].key
                var copies: [CrosscheckReport.CopyResult] = []
                for j in c.redo.logs[i].destinations.indices {
                    let d = c.redo.logs[i].destinations[j]
                    if let why = unchecked[key]?[d.destination], d.state == .archived || d.state == .expired {
                        copies.append(.init(destination: d.destination, state: d.state.rawValue, previous: d.state.rawValue, problem: why))
                        continue
                    }
                    guard let problem = copyProblems[key]?[d.destination], d.state == .archived || d.state == .expired else { continue }
                    c.redo.logs[i].destinations[j].state = problem == nil ? .archived : .expired
                    c.redo.logs[i].destinations[j].error = problem
                    copies.append(.init(destination: d.destination, state: problem == nil ? "ARCHIVED" : "EXPIRED",
                                        previous: d.state.rawValue, problem: problem))
                }
                let before = c.redo.logs[i].status
                if before != .online {
                    let anyCopy = c.redo.logs[i].destinations.contains { $0.state == .archived } || held.contains(key)
                    c.redo.logs[i].status = anyCopy ? .archived : .expired
                }
                if copies.isEmpty && before == c.redo.logs[i].status { continue }
                r.logs.append(.init(incarnation: key.incarnation, sequence: key.sequence, status: c.redo.logs[i].status.rawValue,
                                    previous: before.rawValue, copies: copies))
            }
            report = r
        }
        report.remoteBackups = crosscheckRemotes()
        recordObjectRequests()
        return report
    }

    /// `cairn delete expired`: removes the records of EXPIRED backups, logs and archived-log
    /// copies, and whatever is left of their files.
    package func deleteExpired() throws(EngineError) -> DeletionReport {
        let op = try beginOperation(.writing, purpose: "delete expired backups and logs")
        defer { op.end() }
        return try deleteWhenFree(purpose: "delete expired backups and logs") { c in
            var plan = DeletionPlan()
            plan.backups = c.backups.filter { !$0.isAvailable }.map(\.id)
            for l in c.redo.logs {
                let dests = l.destinations.filter { $0.state == .expired }.map(\.destination)
                if !dests.isEmpty || l.status == .expired { plan.logCopies[l.key] = dests }
            }
            return plan
        }
    }
}

/// What `cairn crosscheck` found.
package struct CrosscheckReport: Sendable, Codable, Equatable {
    package struct BackupResult: Sendable, Codable, Equatable {
        package var id: UInt64
        package var kind: String
        package var status: String
        package var previous: String
        package var problem: String?
    }
    package struct CopyResult: Sendable, Codable, Equatable {
        package var destination: String
        package var state: String
        package var previous: String
        package var problem: String?
    }
    package struct LogResult: Sendable, Codable, Equatable {
        package var incarnation: Int
        package var sequence: UInt64
        package var status: String
        package var previous: String
        package var copies: [CopyResult]
    }
    package var backups: [BackupResult] = []
    /// Logs whose copies were checked or whose status changed.
    package var logs: [LogResult] = []
    /// Backups recorded as stored at a remote, recounted there (see `crosscheckRemotes`).
    package var remoteBackups: [RemoteBackupResult] = []

    package var expiredBackups: Int { backups.filter { $0.status == "EXPIRED" }.count }
    package var expiredLogs: Int { logs.filter { $0.status == "EXPIRED" }.count }
}
