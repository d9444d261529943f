import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// What `cairn clone` made.
package struct CloneResult: Sendable, Codable {
    package var path: String
    /// The clone's own DBID (in its clone record; its repository's when registered).
    package var dbid: String
    package var source: String
    package var sourceDbid: String
    /// The restore that built it.
    package var recovery: RecoveryEngine.Result
    /// With `register`: the clone's repository and its first level-0 backup.
    package var repository: String?
    package var backupId: UInt64?
}

extension Catalog {
    /// Makes a copy of the database as of `target` at `path` that is a database of its own: a
    /// restore (every check a restore makes) with a new DBID recorded beside it
    /// (`CloneRecord`), never the record `cairn recover` rolls a restored file forward with.
    /// With `register`, the clone is registered under that DBID with its own repository
    /// (`repository`, default `PATH.cairn`) and a level-0 backup is taken of it: the
    /// source's repository refuses it and its repository refuses the source.
    package func clone(to path: String, target: RecoveryTarget, incarnation: Int? = nil, force: Bool = false,
                       register: Bool = false, repository: String? = nil, backupOptions: BackupOptions = BackupOptions(),
                       monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> CloneResult {
        let dest = FileSystem.resolved(path)
        try refuseCloneTarget(dest, force: force)
        let recovery = try restoreNewFile(dest, target: target, backup: nil, force: force, allowIncomplete: false,
                                          incarnation: incarnation, recordPoint: false, monitor: monitor)
        // A file replaced with --force may have had records of its own beside it.
        FileSystem.removeFile(RestoredPoint.file(for: dest))
        FileSystem.removeFile(CloneRecord.file(for: dest))
        let record = CloneRecord(dbid: CloneRecord.newDbid(), source: databasePath, sourceDbid: control.dbid,
                                 scn: recovery.scn, incarnation: recovery.incarnation, createdAt: Date())
        try record.write(for: dest, mode: control.fileMode ?? FileMode.of(file: databasePath) ?? .ownerOnly)
        var result = CloneResult(path: dest, dbid: record.dbid, source: databasePath, sourceDbid: control.dbid, recovery: recovery)
        guard register else { return result }
        let clone = try Catalog.initialize(database: dest, repository: repository, fileMode: control.fileMode, logger: logger)
        var options = backupOptions
        options.monitor = monitor
        result.repository = clone.layout.root
        result.backupId = try clone.backup(options).id
        return result
    }

    /// The clone goes to a new path: never the live database, nor over a protected one.
    private func refuseCloneTarget(_ dest: String, force: Bool) throws(EngineError) {
        if dest == databasePath {
            throw .invalidSetting(.restoreTarget, value: dest, problem: "the live database; a clone goes to another path (`cairn flashback` or `cairn restore --in-place` rewinds the live database).")
        }
        if !force && FileSystem.exists(dest) { throw .targetExists(path: dest) }
        let control = RepositoryLayout.besideDatabaseControlCopy(forDatabase: dest)
        if FileSystem.exists(control) {
            throw .invalidSetting(.restoreTarget, value: dest, problem: "a database Cairn protects (control file \(control)); a clone never replaces one: choose another path for --to.")
        }
    }
}
