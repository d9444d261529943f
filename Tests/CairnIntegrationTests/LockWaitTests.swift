@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Cairn's brief locks (a backup's snapshot, the guardian's checkpoint, a continuity check)
/// and its stop requests, with other writers and other captures in the same process.
@Suite struct LockWaitTests {
    /// A writer committing back to back frees the write lock only for moments between its
    /// transactions. SQLite's own busy timeout sleeps up to 100 ms between tries and could
    /// wait seconds for one; Cairn's connections poll and get the lock within their timeout.
    @Test func theWriteLockIsWonFromAWriterCommittingBackToBack() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        let writer = Ledger.startWriter(db, 200_000)
        defer { kill(writer.processIdentifier, SIGKILL); writer.waitUntilExit() }
        let started = Date()
        while Shell.run(["sqlite3", db, "SELECT count(*) > 0 FROM transfers"]).stdout.hasPrefix("0"), Date().timeIntervalSince(started) < 30 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(writer.isRunning)
        var won = 0
        for _ in 0..<5 {
            let c = try SQLiteConnection(path: db, busyTimeoutMs: 2_000)
            do throws(EngineError) {
                try c.exec("BEGIN IMMEDIATE")
                won += 1
                try c.exec("ROLLBACK")
            } catch {}
            c.close()
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(writer.isRunning, "the writer must still be committing for the test to mean anything")
        #expect(won == 5)
    }

    /// A stop request reaches only the capture it was made for; the process-wide signal flag
    /// counts only where the command line installed the handlers.
    @Test func aStopRequestReachesOnlyItsOwnCapture() {
        let a = StopRequest(), b = StopRequest()
        a.request()
        #expect(a.isRequested && !b.isRequested)
        #expect(!CaptureSignals.installed)
        #expect(!CaptureSignals.takeSwitchLog())
    }
}
