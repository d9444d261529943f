@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// A clean stop (SIGTERM) captures and archives everything committed, quickly, whatever the
/// size of the online logs, and reports only errors that happened.
@Suite struct CleanStopTests {
    /// Finding: with `--log-size 128K`, 2,500 queued transactions and a SIGTERM, the stop
    /// took 100 s and ended with "Input/output error (errno 5) ... check that the disk is
    /// healthy" on a healthy disk, 1,485 of 2,500 archived.
    @Test func aStopWithManyQueuedTransactionsAndSmallLogsFinishesAndArchivesAll() throws {
        var redo = RedoOptions()
        redo.logSizeBytes = 128 << 10
        let h = try CaptureHarness(count: 2500, redo: redo)
        // Queue the transactions in the WAL before capture starts (a read transaction keeps
        // SQLite from restarting the WAL meanwhile).
        let hold = WALHold(h.db)
        h.write(h.script(0..<2500, every: 0))
        let follow = h.startFollow()
        // The stop comes while the worker is still catching up with the queue.
        #expect(h.wait(20) { !h.workers().isEmpty }, "\(h.followLog)")
        hold.release()
        let t0 = Date()
        let status = h.stop(follow)
        let took = Date().timeIntervalSince(t0)
        #expect(status == 0, "\(h.followLog)")
        #expect(!h.followLog.contains("Input/output error"), "\(h.followLog)")
        // Not a speed target (docs/benchmarks.md has those): a stop must not take minutes.
        #expect(took < 30, "the clean stop took \(took) s")
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(p.redoStatus.scn == 2500)
        #expect(p.redoStatus.archivedScn == 2500, "archived through \(p.redoStatus.archivedScn)")
        try h.expectNothingLost(total: 2500, scns: [1250])
    }
}
