import Foundation
import Testing
import CairnAgent
import CairnTestSupport

/// Which databases a configuration's entries name: `path:` as given, `dir:` + `pattern:` as the
/// matching regular files (never a WAL, index, journal or a file Cairn writes), each database once.
struct TargetResolverTests {
    @Test func directoryEntriesMatchDatabasesOnlyAndDuplicatesAreReportedOnce() throws {
        let dir = TempDir()
        for name in ["a.db", "b.db", "a.db-wal", "a.db-shm", "b.db-journal", ".a.db.cairn-control", "notes.txt"] {
            FileManager.default.createFile(atPath: dir.file(name), contents: Data())
        }
        try FileManager.default.createDirectory(atPath: dir.file("c.db.cairn"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file("sub.db"), withIntermediateDirectories: true)
        var byDir = DatabaseEntry()
        byDir.directory = dir.path
        byDir.pattern = "*.db"
        byDir.line = 3
        var single = DatabaseEntry()
        single.path = dir.file("a.db")
        single.line = 7
        let (targets, problems) = TargetResolver.resolve([byDir, single])
        #expect(targets.map(\.path) == [dir.file("a.db"), dir.file("b.db")].map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path })
        #expect(problems.count == 1)
        #expect(problems.first?.contains("lines 3 and 7") == true, "\(problems)")
        #expect(Set(targets.map(\.id)).count == 2, "each database has its own page")
    }

    @Test func anUnreadableDirectoryIsAProblemNotAFailure() {
        var e = DatabaseEntry()
        e.directory = "/nonexistent/cairn-agent-test"
        e.line = 2
        let (targets, problems) = TargetResolver.resolve([e])
        #expect(targets.isEmpty)
        #expect(problems.first?.contains("cannot be read") == true)
    }
}
