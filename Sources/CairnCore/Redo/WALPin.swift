/// Keeps SQLite from restarting the WAL over frames Cairn has not captured, without ever
/// standing in the way of a checkpoint that would lose nothing.
///
/// A pin is a read transaction. SQLite's rules (wal.c) give it one of two forms:
/// - Begun while some committed frame is not yet in the database file, it takes a reader
///   slot with a read mark: checkpoints copy no frame past the mark, and the WAL cannot be
///   restarted at all (a restart needs every reader slot exclusively).
/// - Begun while every committed frame is already in the database file (nBackfill ==
///   mxFrame), it reads the database file alone and holds only read lock 0. That does not
///   stop a restart (nothing it reads is in the WAL), but it stops every checkpoint from
///   copying any frame committed after it began (copying needs read lock 0 exclusively).
///   So the frames that a restart could overwrite are exactly those that were in the
///   database file when it began.
///
/// Capture therefore keeps two read transactions and moves forward by opening the next one
/// before closing the previous one, so there is never an instant without a pin, and opens
/// one only once it has captured (and made durable) every frame it could let go: a pin's
/// mark is never past what is captured, and a pin of the second form begins only when every
/// frame is captured. An application's checkpoint then proceeds as it would without Cairn:
/// capture moves its pin up to the last commit, the checkpoint copies everything, capture
/// sees the WAL fully copied and moves its pin to the second form, and the checkpoint's
/// restart (RESTART, TRUNCATE, or the next writer's) goes ahead.
final class WALPin {
    private let connections: [SQLiteConnection]
    private var open: [Bool] = [false, false]
    private var newest = 1
    let index: WALIndex
    /// The WAL state the newest pin began at, when it could be read unambiguously (the index
    /// did not change while the read transaction began); nil otherwise.
    private(set) var newestPoint: WALIndexState?
    /// The database, WAL and index files the pins were opened on.
    let files: DatabaseFiles

    init(databasePath: String) throws(CairnError) {
        // Read-write connections (that never write): a read-only one cannot create a missing
        // WAL and would fall back to reading the database file without pinning anything.
        connections = [try SQLiteConnection(path: databasePath, busyTimeoutMs: 5_000),
                       try SQLiteConnection(path: databasePath, busyTimeoutMs: 5_000)]
        // The connections open the WAL and its index on their first read transaction.
        try connections[0].exec("BEGIN")
        _ = try? connections[0].scalar("SELECT count(*) FROM sqlite_master")
        try? connections[0].exec("ROLLBACK")
        index = try WALIndex(databasePath: databasePath)
        files = DatabaseFiles(databasePath: databasePath)
    }

    /// Opens a read transaction on the connection not holding the newest pin.
    func openNext() throws(CairnError) {
        let i = 1 - newest
        if open[i] { close(i) }
        let before = index.read()
        try connections[i].exec("BEGIN")
        do throws(CairnError) {
            _ = try connections[i].scalar("SELECT count(*) FROM sqlite_master")
        } catch {
            try? connections[i].exec("ROLLBACK")
            throw error
        }
        let after = index.read()
        open[i] = true
        newest = i
        newestPoint = before != nil && before == after ? before : nil
    }

    /// Whether the newest pin reads the database file alone at exactly `state`: nothing to
    /// move for, even if `state` is fully copied.
    func newestIsAt(_ state: WALIndexState) -> Bool {
        guard let p = newestPoint else { return false }
        return p == state
    }

    /// Closes every pin but the newest.
    func closePrevious() { close(1 - newest) }

    func closeAll() {
        close(0)
        close(1)
        newestPoint = nil
    }

    var isPinned: Bool { open[0] || open[1] }

    private func close(_ i: Int) {
        if open[i] {
            try? connections[i].exec("ROLLBACK")
            open[i] = false
        }
    }

    deinit {
        closeAll()
        connections.forEach { $0.close() }
    }
}

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
