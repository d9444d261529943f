@testable import CairnFormats
@testable import CairnEngines
import CSQLite
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// A blocking checkpoint that read capture's read mark while it was behind waits for the pin's
/// slot, and never reads the mark there again: the pin must leave that slot and stay off it
/// until the checkpoint has had it, however long the checkpoint's busy handler sleeps between
/// tries (SQLite's default one sleeps up to 100 ms), or the checkpoint waits for its whole busy
/// timeout and ends SQLITE_BUSY with frames not copied.
///
/// Finding: with the application running FULL checkpoints, capture's pin (marked unused) stayed
/// in the slot a checkpoint was waiting for when no other slot was free of an old mark
/// ("FULL busy=1 log 84 done 68"); and a pin that left a slot took it back 30 ms later, while
/// the checkpoint slept 50 or 100 ms, and did not leave it again.
@Suite(.serialized) struct WALPinHopTests {
    @Test(arguments: [("FULL", false), ("FULL", true), ("TRUNCATE", false), ("TRUNCATE", true)])
    func aCheckpointWaitingForThePinsSlotGetsIt(mode: String, unusedMark: Bool) throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 0)
        let app = try SQLiteConnection(path: db)
        try app.exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x)")
        try insert(app, rows: 5)
        // The pin, set up now, holds slot 1 (marked at the WAL's end) and read lock 0.
        let pin = try WALPin(databasePath: db)
        #expect(pin.state == .settingUp(slots: [1]), "\(pin.state)")
        // Commits the pin has not followed: slot 1's mark is behind them; the other slots carry
        // marks left behind too, as capture's earlier slots do.
        try insert(app, rows: 5)
        let end = try #require(pin.index.read())
        let captured = WALPosition(salt1: end.salt1, salt2: end.salt2, frame: end.mxFrame, checksum1: 0, checksum2: 0)

        // The application's checkpoint (of a connection that has read the schema already, as
        // the writer's own has) reads the mark behind and waits for slot 1; capture follows
        // once the busy handler is sleeping 50-100 ms between tries.
        let result = Mutex<[String?]?>(nil)
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
        let checkpoint = Thread {
            let row: [String?]
            do {
                let checkpointer = try SQLiteConnection(path: db)
                defer { checkpointer.close() }
                _ = try checkpointer.rows("SELECT count(*) FROM t")
                try SlowBusyHandler.install(on: checkpointer)
                ready.signal()
                guard go.wait(timeout: .now() + 10) == .success else { throw EngineError.cancelled(operation: "waiting for the test") }
                row = try checkpointer.rows("PRAGMA wal_checkpoint(\(mode))").first ?? ["no row"]
            } catch {
                row = ["\(error)"]
            }
            result.withLock { $0 = row }
        }
        checkpoint.start()
        #expect(ready.wait(timeout: .now() + 10) == .success, "the checkpointing connection did not open")
        for slot in 2...4 { #expect(pin.writeMark(1, slot: slot)) }
        go.signal()
        #expect(Await.until(10) { SlowBusyHandler.calls.load(ordering: .relaxed) >= 10 || result.withLock { $0 != nil } })
        let deadline = Date().addingTimeInterval(10)
        while result.withLock({ $0 == nil }) && Date() < deadline {
            // What capture's loop does while a checkpoint runs, looking every 250 µs until the
            // checkpoint ends or the deadline passes (`CaptureLoop.keepPinsCurrent`).
            if let now = pin.index.read(), !pin.isCurrent(for: now, captured: captured) {
                if WALPin.everythingCopied(now, captured: captured) {
                    pin.pinFileAlone(captured: captured)
                } else {
                    pin.pinCaptured(captured, holdingCopies: !unusedMark)
                }
            }
            pin.makeWayForCheckpoint()
            usleep(250)
        }
        let row = try #require(result.withLock { $0 }, "the checkpoint did not end")
        #expect(row.first == "0", "\(mode) checkpoint returned SQLITE_BUSY: \(row) after \(SlowBusyHandler.calls.load(ordering: .relaxed)) waits")
        if mode == "FULL" { #expect(row[1] == row[2], "not every frame copied: \(row)") }
        if mode == "TRUNCATE" { #expect(row[1] == "0" && row[2] == "0", "\(row)") }
        pin.releaseAll()
        app.close()
    }

    private func insert(_ c: SQLiteConnection, rows: Int) throws {
        for i in 0..<rows { try c.exec("INSERT INTO t VALUES(\(i))") }
    }
}

/// SQLite's default busy handler (1, 2, 5 ... 50, 100 ms between tries, 3 s in all), counting
/// its calls: its sleeps are the behaviour under test (a pin must stay off a slot for longer
/// than the checkpoint sleeps between tries), not a wait of the test's.
enum SlowBusyHandler {
    static let calls = Atomic<Int>(0)
    private static let delays: [Int32] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

    static func install(on c: SQLiteConnection) throws {
        calls.store(0, ordering: .relaxed)
        try c.withHandle { handle in
            _ = sqlite3_busy_handler(handle, { _, count in
                SlowBusyHandler.calls.add(1, ordering: .relaxed)
                let n = Int(count)
                let slept = SlowBusyHandler.delays.prefix(n).reduce(0, +) + Int32(max(0, n - SlowBusyHandler.delays.count)) * 100
                guard slept < 3000 else { return 0 }
                usleep(useconds_t(SlowBusyHandler.delays[min(n, SlowBusyHandler.delays.count - 1)]) * 1000)
                return 1
            }, nil)
        }
    }
}
