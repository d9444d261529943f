@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Destinations are injected: a registered scheme resolves to its own `ArchiveDestination`,
/// and archiving, crosscheck and recovery go through it as they go through a directory.
@Suite struct InjectedDestinationTests {
    @Test func logsArchivedToAnInMemoryDestinationRecoverTheDatabase() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 500)
        let name = "memory://\(UUID().uuidString)"
        let memory = MemoryDestination(name: name)
        ArchiveDestinations.register(scheme: "memory") { n in n == name ? memory : MemoryDestination(name: n) }
        var redo = RedoOptions()
        redo.archiveDestinations = [name]
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        #expect(p.control.redo.archiveDestinations == [name])
        try p.backup(.quiet())
        let hold = WALHold(db)
        Ledger.write(db, 30)
        let r = try p.archiveOnce()
        hold.release()
        #expect(r.archivedScn == 30 && r.failures.isEmpty)
        #expect(memory.fileNames == p.control.redo.logs.map(\.fileName))
        // Nothing was written where a directory of that name would be.
        #expect(!FileManager.default.fileExists(atPath: name))
        let out = dir.file("restored.db")
        let result = try p.recover(to: out, target: .complete)
        #expect(result.scn == 30 && result.complete)
        #expect(memory.downloads >= 1, "recovery read the archived log from the injected destination")
        #expect(Ledger.check(out).transfers == Ledger.check(db).transfers)
        var crosscheck = try p.crosscheck()
        #expect(crosscheck.expiredLogs == 0 && crosscheck.logs.allSatisfy { $0.copies.allSatisfy { $0.state == "archived" || $0.state == "ARCHIVED" || $0.problem == nil } }, "\(crosscheck)")
        // A copy lost at the destination is found by a crosscheck through the same interface.
        for f in memory.fileNames { _ = try memory.retire(f) }
        memory.purgeRetired(nil)
        crosscheck = try p.crosscheck()
        #expect(crosscheck.expiredLogs == 1)
    }
}
