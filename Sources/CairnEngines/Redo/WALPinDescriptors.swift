import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// Descriptors of a database's `-shm` and database file that `WALPin`s of this process take
/// their locks on. Each pin needs its own pair (open-file-description locks of one pair
/// merge, so two pins on one pair would release each other's locks), and no descriptor may
/// ever be closed (closing one would drop the POSIX locks of this process's SQLite
/// connections on that file), so pairs are kept per file and handed from one pin to the next:
/// a process opens as many pairs as it holds pins at once.
enum WALPinDescriptors {
    private static let free = Mutex<[String: [(Int32, Int32)]]>([:])

    /// The files' identity: a pair is reused only for the same files.
    static func key(_ databasePath: String) throws(EngineError) -> String {
        let shmPath = databasePath + "-shm"
        guard let shmID = FileIdentity(path: shmPath), let dbID = FileIdentity(path: databasePath) else {
            throw .missingFile(path: shmPath, detail: "the WAL index or the database does not exist")
        }
        return "\(shmID) \(dbID)"
    }

    /// A free pair for these files, or a newly opened one.
    static func take(_ databasePath: String) throws(EngineError) -> (key: String, shm: Int32, database: Int32) {
        let k = try key(databasePath)
        if let pair = free.withLock({ $0[k]?.popLast() }) { return (k, pair.0, pair.1) }
        let shm = try open(databasePath + "-shm")
        let db = try open(databasePath)
        return (k, shm, db)
    }

    static func giveBack(_ key: String, _ shm: Int32, _ database: Int32) {
        free.withLock { $0[key, default: []].append((shm, database)) }
    }

    private static func open(_ path: String) throws(EngineError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw EngineError.fromErrno("open", path, errno) }
        return fd
    }
}
