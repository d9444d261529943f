import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    // MARK: - Registration

    /// Registers `database`: a random DBID (a clone's: the one its `CloneRecord` holds), incarnation 1, WAL mode, the repository and the
    /// multiplexed control file (beside the database, in the repository, and any `extraControlCopies`).
    /// Every path is resolved first (links, `..`), so the database is registered under its one
    /// real name. `fileMode` (nil: follow the database file's) is the mode of every file Cairn creates for it.
    package static func initialize(database: String, repository: String? = nil, extraControlCopies: [String] = [],
                                  redo: RedoOptions = RedoOptions(), fileMode: FileMode? = nil,
                                  logger: Logger = Logger(label: "cairn")) throws(EngineError) -> Catalog {
        try redo.validate()
        let db = FileSystem.resolved(database)
        guard FileSystem.exists(db) else { throw .databaseMissing(path: db) }
        _ = try DatabaseHeader.read(db)
        let beside = RepositoryLayout.besideDatabaseControlCopy(forDatabase: db)
        if FileSystem.exists(beside) { throw .alreadyRegistered(database: db, controlFile: beside) }
        let layout = RepositoryLayout(root: repository.map(FileSystem.resolved) ?? RepositoryLayout.defaultRoot(forDatabase: db))
        if FileSystem.exists(layout.identityFile) {
            let other = try RepositoryIdentity.read(layout)
            throw .databaseMismatch(database: db, registered: "DBID \(other.dbid) (\(other.databaseName))", file: layout.identityFile)
        }
        try LiveDatabase.enableWAL(db)

        // A clone (`cairn clone`) keeps the DBID it was given; any other database gets a new one.
        let dbid = try CloneRecord.read(for: db).flatMap { UInt64($0.dbid) } ?? UInt64(CloneRecord.newDbid())!
        let now = Date()
        var copies = [beside, layout.controlCopy]
        for c in extraControlCopies.map(FileSystem.resolved) where !copies.contains(c) { copies.append(c) }
        var content = ControlFile(
            dbid: String(dbid), databasePath: db, repository: layout.root, controlCopies: copies,
            incarnation: 1, incarnations: [.init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: now)],
            scn: 0, walCursor: nil, nextBackupId: 1, backups: [],
            redo: redo.state(layout: layout),
            createdAt: now, updatedAt: now)
        content.fileMode = fileMode
        registerPermissions(content, database: db)
        try FileSystem.makeDirectories(layout.backupsDirectory)
        try FileSystem.makeDirectories(FileSystem.parent(of: layout.controlCopy))
        try RepositoryIdentity(dbid: String(dbid), databaseName: (db as NSString).lastPathComponent, createdAt: now,
                               createdBy: "cairn " + FormatVersion.release).write(layout)
        var withBaseline = content
        withBaseline.redo.capture = try Self.captureBaseline(database: db, layout: layout, scn: 0, incarnation: 1)
        let store = try ControlFileStore.create(withBaseline)
        try RepositoryCatalog.write(withBaseline, layout: layout)
        try RepositoryOperation.createLockFiles(layout)
        return Catalog(databasePath: db, store: store, logger: logger)
    }
}
