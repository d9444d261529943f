/// Keeps SQLite from restarting the WAL over frames Cairn has not captured.
///
/// A read transaction whose read mark is at least 1 forbids a WAL restart (and TRUNCATE),
/// and limits checkpoints to frames at or below its mark. Capture keeps one open at all
/// times and moves it forward by opening the next one before closing the previous one, so
/// there is never an instant without a pin.
final class WALPin {
    private let connections: [SQLiteConnection]
    private var open: [Bool] = [false, false]
    private var newest = 1

    init(databasePath: String) throws(CairnError) {
        connections = [try SQLiteConnection(path: databasePath, readOnly: true),
                       try SQLiteConnection(path: databasePath, readOnly: true)]
    }

    /// Opens a read transaction on the connection not holding the newest pin.
    func openNext() throws(CairnError) {
        let i = 1 - newest
        if open[i] { close(i) }
        try connections[i].exec("BEGIN")
        do throws(CairnError) {
            _ = try connections[i].scalar("SELECT count(*) FROM sqlite_master")
        } catch {
            try? connections[i].exec("ROLLBACK")
            throw error
        }
        open[i] = true
        newest = i
    }

    /// Closes every pin but the newest.
    func closePrevious() { close(1 - newest) }

    func closeAll() {
        close(0)
        close(1)
    }

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
