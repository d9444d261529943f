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
