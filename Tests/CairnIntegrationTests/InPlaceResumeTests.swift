import Foundation
import Testing
import CairnFormats
import CairnCatalog
import CairnEngines
import CairnTestSupport

/// After an in-place restore to an earlier point (a new incarnation, sequences from 0), capture
/// resumes even when the current online log group is still marked current with a log of the
/// incarnation left behind (as a capture stopped between recording a switch and writing the
/// new log's header leaves it): it starts that group afresh instead of crashing.
@Suite struct InPlaceResumeTests {
    @Test func captureResumesOverAnOlderIncarnationsCurrentGroup() throws {
        let h = try CaptureHarness(count: 20)
        TimeTravelTests.write(h, 0..<20)
        _ = try h.p.recoverInPlace(target: .scn(10))
        #expect(h.p.control.incarnation == 2 && h.p.control.redo.sequence == 0)
        try h.p.transact { (c: inout ControlFile) throws(EngineError) in
            let g = c.redo.currentGroup ?? 0
            c.redo.currentGroup = g
            c.redo.groups[g].status = .current
        }
        _ = try h.p.archiveOnce()
        #expect(h.p.control.redo.groups.filter { $0.status == .current }.count <= 1)
        let out = h.dir.file("after.db")
        _ = try h.p.recover(to: out, target: .complete)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(h.db)))
    }
}
