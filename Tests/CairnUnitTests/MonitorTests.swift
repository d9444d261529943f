@testable import CairnFormats
@testable import CairnCatalog
import Foundation
import Synchronization
import Testing

/// Progress and cancellation as engines see them.
@Suite struct MonitorTests {
    @Test func cancellationStopsAtTheNextAdvance() throws {
        let monitor = OperationMonitor()
        let meter = ProgressMeter(label: "backup", totalBytes: 100, monitor: monitor)
        try meter.advance(10)
        monitor.cancel()
        #expect(throws: EngineError.cancelled(operation: "backup")) { try meter.advance(10) }
    }

    @Test func reportsAreThrottledAndEndWithAFinishedOne() throws {
        let reports = Mutex<[ProgressReport]>([])
        let monitor = OperationMonitor { r in reports.withLock { $0.append(r) } }
        let meter = ProgressMeter(label: "restore", totalBytes: 1_000_000, monitor: monitor)
        for _ in 0..<1000 { try meter.advance(1000) }
        meter.finish()
        let all = reports.withLock { $0 }
        #expect(all.count <= 3)
        #expect(all.last == ProgressReport(operation: "restore", completedBytes: 1_000_000, totalBytes: 1_000_000, finished: true))
    }
}

/// Remedies name the real database: `DB` in a suggested command becomes its path.
@Suite struct ErrorRenderingTests {
    @Test func suggestedCommandsNameTheRealDatabase() {
        let e = EngineError.backupNotFound(id: 9, repository: "/srv/app.db.cairn")
        #expect(e.description.contains("`cairn list backups DB`"))
        #expect(e.description(database: "/srv/app.db").contains("`cairn list backups /srv/app.db`"))
        #expect(e.description(database: "/srv/my app.db").contains("`cairn list backups '/srv/my app.db'`"))
        #expect(e.description(database: nil) == e.description)
        // Words outside a suggested command are left alone.
        let other = EngineError.invalidArgument("DB is a placeholder here")
        #expect(other.description(database: "/x.db") == other.description)
    }

    @Test func aSettingIsNamedAsEachFrontEndSpellsIt() {
        let e = EngineError.invalidSetting(.logGroups, value: "1", problem: "at least 2 online log groups are needed.")
        #expect(e.description == "--log-groups 1: at least 2 online log groups are needed.")
        #expect(e.apiDescription == "logGroups 1: at least 2 online log groups are needed.")
        var redo = RedoOptions()
        redo.groups = 1
        #expect(throws: EngineError.invalidSetting(.logGroups, value: "1", problem: "at least 2 online log groups are needed (one is written while another is archived).")) {
            try redo.validate()
        }
        #expect(throws: EngineError.self) { _ = try FileMode.parse("0755") }
    }
}
