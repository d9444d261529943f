@testable import CairnFormats
@testable import CairnCatalog
import Foundation
import Testing

/// Positions on an incarnation's lineage: SCNs alone do not order a branch's history.
@Suite struct LineageTests {
    static func control(_ incarnations: [ControlFile.Incarnation]) -> ControlFile {
        ControlFile(dbid: "1", databasePath: "/db", repository: "/repo", controlCopies: [], incarnation: incarnations.last!.number,
                    incarnations: incarnations, scn: 0, nextBackupId: 1, backups: [], redo: RedoOptions().state(layout: RepositoryLayout(root: "/repo")),
                    createdAt: Date(), updatedAt: Date())
    }

    @Test func positionsFollowTheBranchNotTheSCN() {
        // Incarnation 1 ran to SCN 500; the database was rewound to SCN 100 (incarnation 2).
        let c = Self.control([
            .init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: Date()),
            .init(number: 2, parent: 1, resetScn: 100, startScn: 501, createdAt: Date()),
        ])
        let path = LineagePath(c, to: 2)
        let beforeReset = path.position(scn: 90, incarnation: 1)
        let abandoned = path.position(scn: 300, incarnation: 1)
        let afterReset = path.position(scn: 501, incarnation: 2)
        #expect(beforeReset != nil && afterReset != nil)
        #expect(abandoned == nil, "SCN 300 of incarnation 1 is on the abandoned branch")
        #expect(beforeReset! < afterReset!)
        // On incarnation 1's own lineage, SCN 300 is there.
        #expect(LineagePath(c, to: 1).position(scn: 300, incarnation: 1) != nil)
    }

    @Test func segmentsAndPlacesAlongThePath() {
        let c = Self.control([
            .init(number: 1, parent: nil, resetScn: 0, startScn: 1, createdAt: Date()),
            .init(number: 2, parent: 1, resetScn: 100, startScn: 501, createdAt: Date()),
        ])
        let path = LineagePath(c, to: 2)
        #expect(path.segments.map(\.incarnation) == [1, 2])
        #expect(path.segments[0].end == 100 && path.segments[1].start == 100 && path.segments[1].end == .max)
        #expect(path.place(50) == 0)
        #expect(path.place(600) == 1)
        #expect(path.place(300) == nil)                        // the abandoned branch of incarnation 1
        #expect(path.place(100, incarnation: 2) == 1)          // a backup taken right after the reset
        #expect(path.place(100, incarnation: 1) == 0)
        #expect(path.next(after: 100, segment: 1) == 501)      // incarnation 2's own SCNs start at 501
        #expect(path.next(after: 600, segment: 1) == 601)
    }
}
