@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// `cairn switch-log` reaches a capture no signal reaches: one running in-process (the agent's,
/// an application's), through the control file, without signalling the process.
@Suite struct SwitchRequestTests {
    @Test func aSwitchRequestReachesAnInProcessCaptureWithoutASignal() throws {
        var redo = RedoOptions()
        redo.archiveTimeoutSeconds = 600  // only the request can close the log within the test
        let s = try RedoTests.Setup(redo: redo)
        let capture = GuardedCapture(databasePath: s.db, logger: quietLogger)
        let db = s.db
        let finished = Mutex(false)
        let thread = Thread {
            try? capture.run(open: { () throws(EngineError) in try Catalog.open(database: db, logger: quietLogger) }, onFailure: { _, _ in })
            finished.withLock { $0 = true }
        }
        thread.start()
        defer {
            capture.stopRequest.request()
            Await.until(60) { finished.withLock { $0 } }
        }
        #expect(Await.until { capture.current.running })
        #expect(Shell.run(["sqlite3", s.db], input: "PRAGMA busy_timeout=5000; CREATE TABLE switched(x); INSERT INTO switched VALUES (1);").status == 0)
        #expect(Await.until { capture.current.scn >= 2 })
        let scn = capture.current.scn
        func archivedThrough() -> UInt64 { (try? Catalog.open(database: db, logger: quietLogger))?.control.redo.logs.map(\.highScn).max() ?? 0 }
        #expect(archivedThrough() < scn, "no log holding SCN \(scn) was closed yet (the archive timeout is 600 s)")
        // SIGUSR1 to this process would end it: the request must not be a signal.
        let message = try Catalog.open(database: db, logger: quietLogger).requestLogSwitch()
        #expect(message.contains("\(getpid())"))
        #expect(Await.until(8) { archivedThrough() >= scn }, "the log holding SCN \(scn) was switched within the resting look's 2 s")
    }
}
