import Foundation
import CairnFormats
import CairnCatalog

/// The files a database is made of, by identity (device and inode) at one moment.
struct DatabaseFiles: Equatable {
    let database: FileIdentity?
    let wal: FileIdentity?
    let index: FileIdentity?

    init(databasePath: String) {
        database = FileIdentity(path: databasePath)
        wal = FileIdentity(path: databasePath + "-wal")
        index = FileIdentity(path: databasePath + "-shm")
    }

    /// What changed from `self` (the files pins were opened on) to `now`.
    func change(to now: DatabaseFiles) -> Change? {
        if now.database == nil { return .databaseGone }
        if now.database != database { return .databaseReplaced }
        if now.wal != wal || now.index != index { return .walReplaced }
        return nil
    }

    enum Change { case databaseGone, databaseReplaced, walReplaced }
}

extension DatabaseFiles {
    /// Opens a connection (it never writes) that keeps `databasePath`'s WAL and WAL index open,
    /// once both exist. A database in WAL mode that nobody has open may have neither (the
    /// application's last connection removes them as it closes; a WAL deleted by hand leaves
    /// none): SQLite creates them when the connection first reads. A process that still has a
    /// connection on an index deleted since gets that one from SQLite instead, so the new files
    /// are waited for (another connection, this process's old one closed, creates them) for up
    /// to `wait` seconds. Throws only when they never appear: SQLite cannot use the database in
    /// WAL mode there.
    static func openKeeper(_ databasePath: String, wait: TimeInterval = 10) throws(EngineError) -> SQLiteConnection {
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let keeper = try Capturer.openCheckpointConnection(databasePath)
            let files = DatabaseFiles(databasePath: databasePath)
            if files.database == nil { throw .databaseMissing(path: databasePath) }
            if files.wal != nil && files.index != nil { return keeper }
            keeper.close()
            guard Date() < deadline else {
                throw .missingFile(path: databasePath + "-shm", detail: "SQLite did not create the WAL index (nor the WAL) when Cairn opened the database for \(Int(wait)) s; check that the database is in WAL mode (`PRAGMA journal_mode`) and that its directory is writable by this user")
            }
            usleep(20_000)
        }
    }
}
