@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Repositories written by earlier releases keep working: a repository whose archived logs
/// hold whole page images (redo log format 1, `Tests/Fixtures/v1-logs.tar.gz`, made by
/// `scripts/make-format-fixture.sh` with the release before compact logs) is opened where it
/// was made, capture goes on in today's format, and recovery runs through old and new logs.
@Suite struct FormatCompatibilityTests {
    static let oldTransactions = 60

    @Test func recoveryRunsThroughOldAndNewLogs() throws {
        // Control files name absolute paths: the fixture is unpacked where it was made.
        let dir = TempDir(at: "/tmp/cairn-fixture-v1-logs")
        let tar = Shell.run(["tar", "xzf", Paths.packageRoot + "/Tests/Fixtures/v1-logs.tar.gz", "-C", dir.path])
        try #require(tar.status == 0, "\(tar.stderr)")
        let db = dir.file("app.db")
        let p = try Catalog.open(database: db, logger: quietLogger)
        #expect(p.redoStatus.scn == UInt64(Self.oldTransactions))
        let oldLogs = Set(p.control.redo.logs.map(\.sequence))
        #expect(try Self.versions(p) == [1])

        // Capture goes on in today's format.
        let old = try String(contentsOfFile: dir.file("statements.sql"), encoding: .utf8).split(separator: "\n").map(String.init)
        let new = Ledger.transferStatements(60, seed: 5)
        let follow = Shell.start(["sh", "-c", "exec \"$0\" archive \"$1\" --follow 2> \"$2\"", Paths.cairn, db, dir.file("follow.log")])
        #expect(Await.capture(of: db))
        #expect(Shell.run(["sqlite3", "-batch", db], input: new.joined(separator: "\n")).status == 0)
        #expect(Await.captured(db, through: UInt64(old.count + new.count)))
        follow.interrupt()
        follow.waitUntilExit()
        #expect(follow.terminationStatus == 0, "\((try? String(contentsOfFile: dir.file("follow.log"), encoding: .utf8)) ?? "")")
        let after = try Catalog.open(database: db, logger: quietLogger)
        #expect(after.control.redo.gaps.isEmpty)
        #expect(try Self.versions(after, excluding: oldLogs) == [2])

        // Recovery to points in the old logs, at the boundary, in the new ones, and complete.
        let all = old + new
        for scn in [25, old.count, old.count + 1, old.count + 37, all.count] {
            let out = dir.file("r-\(scn).db")
            let r = Shell.run([Paths.cairn, "restore", db, "--scn", String(scn), "--to", out])
            #expect(r.status == 0, "SCN \(scn): \(r.stderr)")
            #expect(try ContentDigest.compute(out).digest == (try Self.expected(dir, all, after: scn)), "SCN \(scn)")
        }
        for command in ["validate", "crosscheck"] {
            let r = Shell.run([Paths.cairn, command, db])
            #expect(r.status == 0, "\(command): \(r.stdout)\(r.stderr)")
        }
    }

    /// The format versions of the archived logs (except `excluding`).
    static func versions(_ p: Catalog, excluding: Set<UInt64> = []) throws -> Set<UInt32> {
        var found = Set<UInt32>()
        for log in p.control.redo.logs where !excluding.contains(log.sequence) {
            let archived = try #require(log.destinations.first { $0.state == .archived })
            found.insert(try RedoLogReader(path: archived.destination + "/" + log.fileName).header.version)
        }
        return found
    }

    static func expected(_ dir: TempDir, _ statements: [String], after n: Int) throws -> String {
        let copy = dir.file("expected-\(n).db")
        try FileManager.default.copyItem(atPath: dir.file("base.db"), toPath: copy)
        let r = Shell.run(["sqlite3", "-batch", copy], input: statements.prefix(n).joined(separator: "\n"))
        #expect(r.status == 0, "\(r.stderr)")
        return try ContentDigest.compute(copy).digest
    }
}
