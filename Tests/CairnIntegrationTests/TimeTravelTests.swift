import Foundation
import Testing
import CairnFormats
import CairnCatalog
@testable import CairnEngines
import CairnTestSupport

/// Reading the database as of any SCN page by page, and flashing the live database back:
/// every page equal to a restore to the same SCN.
@Suite(.serialized) struct TimeTravelTests {
    /// The pages of a file, hashed, one per page.
    static func pageHashes(_ path: String, pageSize: Int) throws -> [UInt64] {
        let bytes = try FileSystem.readAll(path)
        return stride(from: 0, to: bytes.count, by: pageSize).map { off in
            bytes.withUnsafeBytes { Hash.page($0.baseAddress! + off, size: pageSize, pgno: UInt32(off / pageSize + 1)) }
        }
    }

    /// Writes transactions `range` of the harness (TRUNCATE checkpoints among them) while
    /// capture runs, and waits until they are captured.
    static func write(_ h: CaptureHarness, _ range: Range<Int>) {
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(range))
        #expect(h.waitCaptured(range.upperBound), "\(h.followLog)")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
    }

    @Test func pagesAsOfAnySCNEqualARestoreToIt() throws {
        let h = try CaptureHarness(count: 120)
        Self.write(h, 0..<60)
        try h.p.backup(.quiet { $0.level = 1 })
        Self.write(h, 60..<120)
        let pageSize = h.p.control.backups[0].pageSize
        for scn: UInt64 in [0, 1, 37, 60, 61, 99, 120] {
            let out = h.dir.file("restore-\(scn).db")
            _ = try h.p.recover(to: out, target: .scn(scn))
            let expected = try Self.pageHashes(out, pageSize: pageSize)
            let pages = try PointInTimePages(catalog: h.p, scn: scn)
            #expect(Int(pages.pageCount) == expected.count, "SCN \(scn)")
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
            defer { buffer.deallocate() }
            for p in 1...max(1, expected.count) where p <= expected.count {
                try pages.read(UInt32(p), into: buffer)
                #expect(Hash.page(buffer, size: pageSize, pgno: UInt32(p)) == expected[p - 1], "SCN \(scn) page \(p)")
            }
        }
    }

    @Test func flashbackEqualsARestoreToTheSameSCNAndCaptureGoesOn() throws {
        let h = try CaptureHarness(count: 160)
        Self.write(h, 0..<100)
        let target: UInt64 = 40
        let restored = h.dir.file("restore-40.db")
        _ = try h.p.recover(to: restored, target: .scn(target))
        let preview = try h.p.flashback(to: .scn(target), preview: true)
        #expect(preview.preview && preview.pages > 0 && preview.incarnation == nil)
        let before = try FileSystem.readAll(h.db)
        #expect(try FileSystem.readAll(h.db) == before, "a preview changes nothing")
        let r = try h.p.flashback(to: .scn(target))
        #expect(r.scn == target && r.from == 100 && r.incarnation == 2, "\(r)")
        // The rewrite is one transaction in the WAL, until a checkpoint copies it.
        let pageSize = h.p.control.backups[0].pageSize
        #expect(Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(TRUNCATE)"]).stdout.hasPrefix("0|"))
        #expect(try Self.pageHashes(h.db, pageSize: pageSize) == (try Self.pageHashes(restored, pageSize: pageSize)), "every page equal to the restore")
        #expect(Ledger.check(h.db).integrity == "ok")
        let reopened = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(reopened.control.incarnation == 2 && reopened.control.scn == target)
        // Capture goes on in the new incarnation: later writes are captured and restorable.
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(100..<160))
        #expect(h.waitCaptured(100), "\(h.followLog)")
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        let after = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(after.control.redo.gaps.isEmpty, "\(after.control.redo.gaps)")
        let latest = h.dir.file("latest.db")
        _ = try after.recover(to: latest, target: .latestCaptured)
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(h.db)))
    }

    /// The live database's pages after its WAL is checkpointed (by sqlite3, another process).
    static func livePages(_ h: CaptureHarness, pageSize: Int) throws -> [UInt64] {
        #expect(Shell.run(["sqlite3", h.db, "PRAGMA wal_checkpoint(TRUNCATE)"]).stdout.hasPrefix("0|"))
        return try pageHashes(h.db, pageSize: pageSize)
    }

    /// Points of an abandoned incarnation: restored to a new file with `incarnation`, and
    /// flashed back to, which undoes a flashback (back to where it started) and goes back
    /// and forth between branches; capture goes on after each.
    @Test func flashbackAndRestoreReachPointsOfAbandonedIncarnations() throws {
        let h = try CaptureHarness(count: 190)
        Self.write(h, 0..<100)
        let pageSize = h.p.control.backups[0].pageSize
        let at70 = h.dir.file("at70.db"), at100 = h.dir.file("at100.db")
        _ = try h.p.recover(to: at70, target: .scn(70))
        _ = try h.p.recover(to: at100, target: .scn(100))
        _ = try h.p.flashback(to: .scn(40))
        Self.write(h, 100..<130)
        let branch = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(branch.control.incarnation == 2 && branch.control.highestScn == 130)
        // SCN 70 is on the abandoned branch: refused without naming it, restored with it.
        let refused = expectCairnError { _ = try branch.recover(to: h.dir.file("no.db"), target: .scn(70)) }
        #expect(refused?.description.contains("--incarnation") == true, "\(refused?.description ?? "")")
        let again70 = h.dir.file("again70.db")
        _ = try branch.recover(to: again70, target: .scn(70), incarnation: 1)
        #expect(try Self.pageHashes(again70, pageSize: pageSize) == (try Self.pageHashes(at70, pageSize: pageSize)))
        let cli = Shell.run([Paths.cairn, "restore", h.db, "--to", h.dir.file("cli70.db"), "--incarnation", "1", "--scn", "70"])
        #expect(cli.status == 0, "\(cli.stderr)")
        let at130 = h.dir.file("at130.db")
        _ = try branch.recover(to: at130, target: .scn(130))
        // Undo the flashback: back to SCN 100 of incarnation 1.
        let undo = try branch.flashback(to: .scn(100), incarnation: 1)
        #expect(undo.targetIncarnation == 1 && undo.incarnation == 3 && undo.from == 130, "\(undo)")
        #expect(try Self.livePages(h, pageSize: pageSize) == (try Self.pageHashes(at100, pageSize: pageSize)))
        let third = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(third.control.incarnations.last?.parent == 1 && third.control.incarnations.last?.resetScn == 100)
        // And over to the branch just left.
        let over = try third.flashback(to: .scn(130), incarnation: 2)
        #expect(over.targetIncarnation == 2 && over.incarnation == 4, "\(over)")
        #expect(try Self.livePages(h, pageSize: pageSize) == (try Self.pageHashes(at130, pageSize: pageSize)))
        let fourth = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(fourth.control.incarnation == 4 && fourth.control.incarnations.last?.parent == 2)
        Self.write(h, 130..<190)
        let after = try Catalog.open(database: h.db, logger: quietLogger)
        #expect(after.control.redo.gaps.isEmpty, "\(after.control.redo.gaps)")
        let latest = h.dir.file("latest.db")
        _ = try after.recover(to: latest, target: .latestCaptured)
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(h.db)))
    }

    /// A guaranteed restore point keeps what a flashback to it reads (the logs from it to the
    /// newest), whatever retention says after a newer backup made them obsolete for restores.
    @Test func aGuaranteedRestorePointGuaranteesFlashbackToIt() throws {
        let h = try CaptureHarness(count: 120)
        Self.write(h, 0..<40)
        let point = try h.p.createRestorePoint("g", guarantee: true)
        #expect(point.scn == 40)
        let at40 = h.dir.file("at40.db")
        _ = try h.p.recover(to: at40, target: .scn(40))
        Self.write(h, 40..<80)
        try h.p.backup(.quiet())
        Self.write(h, 80..<120)
        try h.p.setRetention(.redundancy(1))
        let guarded = RestorePointGuarantee.of(point, in: h.p.control).logs
        #expect(h.p.control.redo.logs.filter { $0.highScn > 40 }.allSatisfy { guarded.contains($0.key) })
        _ = try h.p.deleteObsolete()
        let pageSize = h.p.control.backups[0].pageSize
        let r = try h.p.flashback(to: .restorePoint("g"))
        #expect(r.scn == 40)
        #expect(try Self.livePages(h, pageSize: pageSize) == (try Self.pageHashes(at40, pageSize: pageSize)))
    }

    @Test func flashbackIsRefusedWhileAnotherProcessHasTheDatabaseOpen() throws {
        let h = try CaptureHarness(count: 40)
        Self.write(h, 0..<40)
        let holder = Shell.start(["python3", "-c", "import signal, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('select count(*) from accounts').fetchall(); signal.pause()", h.db])
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        #expect(h.wait(10) { !LiveDatabase.openers(of: h.db).isEmpty })
        let before = try FileSystem.readAll(h.db)
        #expect(throws: EngineError.self) { try h.p.flashback(to: .scn(10)) }
        #expect(try FileSystem.readAll(h.db) == before)
        #expect(h.p.control.incarnation == 1)
    }

    /// The done-when story's first half: a bad DELETE among other writes is found with
    /// `log list --table`, its rows listed by `log show`, and checked with `query --as-of`.
    @Test func aBadDeleteIsFoundShownAndQueriedAsOfBeforeIt() throws {
        let h = try CaptureHarness(count: 40)
        let follow = h.startFollow()
        defer { _ = h.stop(follow) }
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(0..<40))
        let gone = Int(Shell.run(["sqlite3", h.db, "SELECT count(*) FROM transfers WHERE id % 7 = 0"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(gone > 10)
        _ = h.write("DELETE FROM transfers WHERE id % 7 = 0;\n" + (0..<5).map { "UPDATE accounts SET balance = balance + 1 WHERE id = \($0 + 1);" }.joined(separator: "\n"))
        #expect(h.waitCaptured(46), "\(h.followLog)")
        let history = try h.p.history(since: .scn(40), table: "transfers")
        #expect(history.entries.map(\.scn) == [41], "\(history.entries.map { ($0.scn, $0.tables ?? []) })")
        let all = try h.p.history(since: .scn(40))
        #expect(all.entries.count == 6 && all.entries.dropFirst().allSatisfy { $0.tables == ["accounts"] }, "\(all.entries.map { ($0.scn, $0.tables ?? []) })")
        let detail = try h.p.transaction(41)
        let transfers = try #require(detail.rows.tables.first { $0.name == "transfers" })
        #expect(transfers.deleted.count == gone && transfers.inserted.isEmpty && transfers.updated.isEmpty)
        #expect(transfers.deleted.allSatisfy { if case .integer(let id) = $0.key[0] { return id % 7 == 0 } else { return false } })
        let updates = try h.p.transaction(42).rows.tables
        #expect(updates.map(\.name) == ["accounts"] && updates[0].updated.count == 1)
        // The rows as they were, without restoring anything; and the CLI says the same.
        let before = try h.p.openAsOf(.scn(40))
        defer { before.close() }
        #expect(try before.query("SELECT count(*) FROM transfers WHERE id % 7 = 0").rows == [[.integer(Int64(gone))]])
        let after = try h.p.openAsOf(.scn(41))
        defer { after.close() }
        #expect(try after.query("SELECT count(*) FROM transfers WHERE id % 7 = 0").rows == [[.integer(0)]])
        let csv = Shell.run([Paths.cairn, "query", h.db, "--as-of", "40", "--csv", "SELECT count(*) AS n FROM transfers WHERE id % 7 = 0"])
        #expect(csv.status == 0 && csv.stdout == "n\n\(gone)\n", "\(csv.stderr)")
        let show = Shell.run([Paths.cairn, "log", "show", h.db, "--scn", "41", "--json"])
        #expect(show.status == 0 && show.stdout.contains("\"deleted\""), "\(show.stderr)")
    }
}
