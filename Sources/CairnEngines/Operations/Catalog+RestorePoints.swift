import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    /// A restore point as `cairn restore-point DB list` shows it.
    package struct RestorePointInfo: Sendable, Codable, Equatable {
        package var name: String
        package var scn: UInt64
        package var incarnation: Int
        package var createdAt: Date
        package var guaranteed: Bool
        /// Whether a restore can reach it (its incarnation is on the current lineage).
        package var onCurrentLineage: Bool
        /// The backup recovery to it starts from, and what a guaranteed point keeps.
        package var backupId: UInt64?
        package var keptBackups: [UInt64]
        package var keptLogs: Int
    }

    static func validRestorePointName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.unicodeScalars.allSatisfy { s in
            (s.value < 128) && (CharacterSet.alphanumerics.contains(s) || s == "." || s == "_" || s == "-")
        }
    }

    /// `cairn restore-point DB create NAME [--guarantee]`: names the newest committed SCN.
    /// With no capture process running, this process captures (and archives) first; with
    /// one running, the SCN is its newest captured one plus the commits after it in the WAL.
    @discardableResult
    package func createRestorePoint(_ name: String, guarantee: Bool = false, now: Date = Date()) throws(EngineError) -> RestorePoint {
        guard Self.validRestorePointName(name) else {
            throw .invalidArgument("Restore point name '\(name)' is not valid: use 1 to 128 of the characters A-Z a-z 0-9 . _ -")
        }
        if control.restorePoints.contains(where: { $0.name == name }) {
            throw .invalidArgument("A restore point named '\(name)' already exists for \(databasePath); drop it first (`cairn restore-point \(databasePath) drop \(name)`) or choose another name.")
        }
        try requireArchiveLog()
        let operation = try beginOperation(.writing, purpose: "create a restore point")
        defer { operation.end() }
        let scn = try newestCommittedScn()
        var point = RestorePoint(name: name, scn: scn, incarnation: control.incarnation, createdAt: now, guaranteed: guarantee)
        // A guaranteed point is checked and recorded while no deletion decides or records
        // anything: what it keeps cannot be deleted between the check and the record.
        let session = guarantee ? try deletionSession(files: false, purpose: "create a guaranteed restore point") : nil
        defer { session?.end() }
        try transact { (c: inout ControlFile) throws(EngineError) in
            if c.restorePoints.contains(where: { $0.name == name }) {
                throw .invalidArgument("A restore point named '\(name)' already exists for \(c.databasePath); drop it first or choose another name.")
            }
            point.incarnation = c.incarnation
            if guarantee && RestorePointGuarantee.of(point, in: c).backupId == nil {
                throw .noBackupForRestorePoint(name: name, scn: scn, database: c.databasePath)
            }
            c.restorePoints.append(point)
        }
        return point
    }

    /// The SCN of the newest committed transaction, captured first when no capture runs.
    func newestCommittedScn() throws(EngineError) -> UInt64 {
        do throws(EngineError) {
            return try archiveOnce().scn
        } catch {
            guard case .captureRunning = error else { throw error }
        }
        // A capture process runs: its newest captured SCN plus the commits after it in the WAL.
        let c = control
        guard let tail = OnlineLogTail.read(c) else { return c.scn }
        let walPath = databasePath + "-wal"
        guard FileSystem.exists(walPath) else { return max(c.scn, tail.scn) }
        let scan = try WALFile.scan(path: walPath)
        let same = scan.header.map { $0.salt1 == tail.position.salt1 && $0.salt2 == tail.position.salt2 } ?? false
        let commits = UInt64(same ? scan.commits.filter { $0.frame > tail.position.frame }.count : scan.commits.count)
        return c.scn(after: tail.scn, commits: commits)
    }

    /// `cairn restore-point DB list`.
    package func restorePoints() -> [RestorePointInfo] {
        let c = control
        let current = LineagePath(c, to: c.incarnation)
        return c.restorePoints.sorted { ($0.scn, $0.name) < ($1.scn, $1.name) }.map { p in
            let g = RestorePointGuarantee.of(p, in: c)
            return RestorePointInfo(name: p.name, scn: p.scn, incarnation: p.incarnation, createdAt: p.createdAt, guaranteed: p.guaranteed,
                                    onCurrentLineage: current.position(scn: p.scn, incarnation: p.incarnation) != nil,
                                    backupId: g.backupId, keptBackups: p.guaranteed ? g.backups : [], keptLogs: p.guaranteed ? g.logs.count : 0)
        }
    }

    /// `cairn restore-point DB drop NAME`: a guaranteed point's files become subject to
    /// retention again.
    package func dropRestorePoint(_ name: String) throws(EngineError) {
        let operation = try beginOperation(.writing, purpose: "drop a restore point")
        defer { operation.end() }
        try transact { (c: inout ControlFile) throws(EngineError) in
            guard c.restorePoints.contains(where: { $0.name == name }) else {
                throw .restorePointNotFound(name: name, database: c.databasePath)
            }
            c.restorePoints.removeAll { $0.name == name }
        }
    }

    /// The recovery target of restore point `name` (`cairn restore --restore-point NAME`):
    /// exactly its SCN, refused when its incarnation is not on the current lineage.
    package func restorePointTarget(_ name: String) throws(EngineError) -> RecoveryTarget {
        let c = control
        guard let p = c.restorePoints.first(where: { $0.name == name }) else {
            throw .restorePointNotFound(name: name, database: databasePath)
        }
        guard LineagePath(c, to: c.incarnation).position(scn: p.scn, incarnation: p.incarnation) != nil else {
            throw .unrecoverable("Restore point '\(name)' (SCN \(p.scn), incarnation \(p.incarnation)) is not on the current incarnation's lineage: the database was restored to an earlier point since, abandoning that branch (see `cairn list incarnations \(databasePath)`). Restore or flash back to it with --incarnation \(p.incarnation) --scn \(p.scn).")
        }
        return .scn(p.scn)
    }

    /// The SCN of restore point `name`, and the incarnation whose lineage holds it when that
    /// is not the current one's (a branch abandoned since).
    package func restorePointLocation(_ name: String) throws(EngineError) -> (scn: UInt64, incarnation: Int?) {
        let c = control
        guard let p = c.restorePoints.first(where: { $0.name == name }) else {
            throw .restorePointNotFound(name: name, database: databasePath)
        }
        let onLineage = LineagePath(c, to: c.incarnation).position(scn: p.scn, incarnation: p.incarnation) != nil
        return (p.scn, onLineage ? nil : p.incarnation)
    }
}
