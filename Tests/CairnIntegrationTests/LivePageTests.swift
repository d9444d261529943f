import CairnCatalog
import CairnEngines
import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// `cairn validate --live` and `cairn repair pages` on a database another process writes to,
/// captured by `cairn archive --follow`: damage is found page by page, named, repaired while
/// the writer goes on, and the result equals the source.
@Suite(.serialized) struct LivePageTests {
    static func json<T: Decodable>(_ type: T.Type, _ out: Shell.Output, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(type, from: Data(out.stdout.utf8)) } catch {
            Issue.record("not JSON (\(out.status)): \(out.stdout) \(out.stderr)", sourceLocation: sourceLocation)
            throw error
        }
    }

    @Test func damagedPagesAreFoundNamedAndRepairedWhileAnotherProcessWrites() throws {
        var seed = TestSeed()
        let h = try CaptureHarness(count: 400, filler: 3000)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        let writer = Shell.start(["sqlite3", "-batch", h.db], input: h.script(0..<400, every: 40))
        #expect(h.waitCaptured(40))
        // Leaves of old rows: the writer appends and never reads them.
        let leaves = PageDamage.leafPages(h.db, table: "transfers")
        let chosen = Array(leaves.prefix(leaves.count / 2).shuffled(using: &seed.rng).prefix(5)).sorted()
        PageDamage.damage(h.db, pages: chosen, using: &seed.rng)

        let found = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--json"]))
        #expect(found.damaged.map(\.page) == chosen)
        #expect(found.damaged.allSatisfy { $0.owner == "table transfers" && $0.location == "database file" && $0.expectedHash != $0.foundHash })
        #expect(found.failureId != nil)
        let text = Shell.run([Paths.cairn, "validate", h.db, "--live"])
        #expect(text.status == 4 && text.stdout.contains("page \(chosen[0]) (table transfers, database file): DAMAGED"))

        let preview = try Self.json(PageRepairReport.self, Shell.run([Paths.cairn, "repair", "pages", h.db, "--damaged", "--preview", "--json"]))
        #expect(preview.pages.map(\.page) == chosen && preview.pages.allSatisfy { $0.written.isEmpty && !$0.source.isEmpty })
        let repair = Shell.run([Paths.cairn, "repair", "pages", h.db, "--damaged", "--json"])
        #expect(repair.status == 0, "\(repair.stderr)")
        let repaired = try Self.json(PageRepairReport.self, repair)
        #expect(repaired.repaired == chosen.count && repaired.failureClosed == found.failureId)
        #expect(repaired.pages.allSatisfy { $0.written == ["database file"] && $0.source.hasPrefix("backup 1") })

        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        // 400 transfers and the repair's one commit.
        #expect(h.waitCaptured(401))
        let after = Shell.run([Paths.cairn, "validate", h.db, "--live", "--logical", "--json"])
        #expect(after.status == 0, "\(after.stdout)")
        #expect(try Self.json(LivePageReport.self, after).logicalProblems == [])
        #expect(try ContentDigest.compute(h.db).digest == (try h.expectedDigest(after: 400)))
        let p = try Catalog.open(database: h.db, logger: quietLogger)
        let restored = h.dir.file("at-scn.db")
        _ = try p.recover(to: restored, target: .scn(p.redoStatus.scn))
        #expect(try ContentDigest.compute(restored) == (try ContentDigest.compute(h.db)))
        #expect(p.control.failures?.first { $0.id == found.failureId }?.closedBy?.hasPrefix("repair pages") == true)
    }

    @Test func aDamagedWALFrameIsRepairedInPlaceAndItsChecksumHoldsAgain() throws {
        let h = try CaptureHarness(count: 200, filler: 2000)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        let hold = WALHold(h.db)   // keeps SQLite from checkpointing the WAL away on close
        h.write(h.script(0..<200, every: 0))
        #expect(h.waitCaptured(200))
        // A page whose newest frame is in the middle of the WAL: readers take it from there.
        let frames = PageDamage.walFrames(h.db)
        let (page, frame) = try #require(frames.sorted { $0.value < $1.value }.dropFirst(frames.count / 2).first)
        PageDamage.damageWALFrame(h.db, frame: frame)

        let found = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--json"]))
        #expect(found.damaged.map(\.page) == [page] && found.damaged.first?.location == "WAL frame \(frame)")
        #expect(found.damagedWALFrames == [frame])
        let repaired = try Self.json(PageRepairReport.self, Shell.run([Paths.cairn, "repair", "pages", h.db, "--page", "\(page)", "--json"]))
        #expect(repaired.pages.first?.written == ["WAL frame \(frame)"])
        let after = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--json"]))
        #expect(after.ok, "\(after)")

        // Every connection gone: SQLite rebuilds the WAL index from the WAL's checksums; a frame
        // still damaged would cut the WAL there and lose the commits after it.
        hold.release()
        h.stop(follow)
        try? FileManager.default.removeItem(atPath: h.db + "-shm")
        #expect(Ledger.check(h.db) == (Ledger.accounts * 1000, "ok", 2000 + 200))
        #expect(try ContentDigest.compute(h.db).digest == (try h.expectedDigest(after: 200)))
    }

    @Test func pagesWrittenWholeInTheOnlineLogsNeedNoBackup() throws {
        let h = try CaptureHarness(count: 300, filler: 500)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        // New leaves (rows after the backup) are first logged whole.
        h.write(h.script(0..<300, every: 100))
        #expect(h.waitCaptured(300))
        h.write("PRAGMA wal_checkpoint(TRUNCATE);")
        let fresh = PageDamage.leafPages(h.db, table: "transfers").suffix(8).dropLast(2)
        var rng = SeededGenerator(seed: 7)
        PageDamage.damage(h.db, pages: Array(fresh), using: &rng)
        let repaired = try Self.json(PageRepairReport.self, Shell.run([Paths.cairn, "repair", "pages", h.db, "--damaged", "--json"]))
        #expect(repaired.pages.map(\.page) == Array(fresh).sorted())
        #expect(repaired.pages.allSatisfy { $0.source == "online logs" && !$0.written.isEmpty }, "\(repaired.pages.map(\.source))")
        #expect(Ledger.check(h.db).integrity == "ok")
    }

    /// A repair killed at a uniformly random moment (from its first instant) leaves each page
    /// as it was (the damaged content, exactly) or repaired, never a mix; the next repair ends it.
    @Test func aRepairKilledAtAnyMomentLeavesEachPageOldOrNew() throws {
        var seed = TestSeed()
        let h = try CaptureHarness(count: 60, filler: 3000)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        h.write(h.script(0..<60, every: 25))  // (ends with commits in the WAL)
        #expect(h.waitCaptured(60))
        let leaves = PageDamage.leafPages(h.db, table: "transfers")
        let chosen = Array(leaves.prefix(leaves.count / 2).shuffled(using: &seed.rng).prefix(6)).sorted()
        var damagedHash: [UInt32: String] = [:]
        func damage() throws {
            PageDamage.damage(h.db, pages: chosen, using: &seed.rng)
            let r = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--json"]))
            #expect(r.damaged.map(\.page) == chosen)
            damagedHash = Dictionary(uniqueKeysWithValues: r.damaged.map { ($0.page, $0.foundHash) })
        }
        try damage()
        // Each page write slowed to 40 ms, so some kills land among them; kill moments are
        // uniform over a whole repair's life, measured first.
        let command = ["sh", "-c", "CAIRN_FAULTS='write:app.db:delay=40' exec \"$0\" repair pages \"$1\" --damaged 2>/dev/null", Paths.cairn, h.db]
        let started = Date()
        #expect(Shell.run(command).status == 0)
        let life = UInt32(Date().timeIntervalSince(started) * 1e6)
        try damage()
        var killedMidway = 0
        for round in 0..<8 {
            let repair = Shell.start(command)
            usleep(UInt32.random(in: 0...life, using: &seed.rng))
            kill(repair.processIdentifier, SIGKILL)
            repair.waitUntilExit()
            let r = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--json"]))
            for d in r.damaged {
                #expect(chosen.contains(d.page) && damagedHash[d.page] == d.foundHash, "round \(round): page \(d.page) is neither the damaged content nor repaired")
            }
            if !r.damaged.isEmpty && r.damaged.count < chosen.count { killedMidway += 1 }
            if r.damaged.isEmpty { try damage() }
        }
        print("a repair lives \(life / 1000) ms; kills between two page writes: \(killedMidway) of 8")
        let last = Shell.run([Paths.cairn, "repair", "pages", h.db, "--damaged"])
        #expect(last.status == 0, "\(last.stderr)")
        let after = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", h.db, "--live", "--logical", "--json"]))
        #expect(after.ok, "\(after)")
        #expect(try ContentDigest.compute(h.db).digest == (try h.expectedDigest(after: 60)))
    }

    /// Damaged pages are named by what they belong to: an index, a row's overflow chain, the
    /// freelist. (No capture runs: validation captures up to its snapshot itself.)
    @Test func ownersAreNamedForIndexesOverflowChainsAndTheFreelist() throws {
        let dir = TempDir()
        let db = dir.file("docs.db")
        let made = Shell.run(["sqlite3", "-batch", db], input: """
            PRAGMA journal_mode=WAL;
            CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, body BLOB);
            CREATE INDEX docs_title ON docs(title);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300)
              INSERT INTO docs SELECT i, printf('title %05d %s', i, hex(randomblob(30))), randomblob(9000) FROM n;
            CREATE TABLE junk(x BLOB);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) INSERT INTO junk SELECT randomblob(3000) FROM n;
            DELETE FROM junk;
            """)
        #expect(made.status == 0, "\(made.stderr)")
        try Catalog.initialize(database: db, logger: quietLogger).backup(.quiet())
        // Validation captures first: from then on the pages' versions are known.
        #expect(Shell.run([Paths.cairn, "validate", db, "--live"]).status == 0)
        func pages(_ sql: String) -> [UInt32] { Shell.run(["sqlite3", "-batch", db, sql]).stdout.split(separator: "\n").compactMap { UInt32($0) } }
        let overflow = try #require(pages("SELECT pageno FROM dbstat WHERE name='docs' AND pagetype='overflow' ORDER BY pageno LIMIT 1 OFFSET 40").first)
        let index = try #require(pages("SELECT pageno FROM dbstat WHERE name='docs_title' AND pagetype='leaf' ORDER BY pageno LIMIT 1").first)
        let count = try #require(pages("PRAGMA page_count").first)
        let used = Set(pages("SELECT pageno FROM dbstat"))
        let free = try #require((2...count).first { !used.contains($0) && $0 > index })
        var rng = SeededGenerator(seed: 9)
        PageDamage.damage(db, pages: [overflow, index, free], using: &rng)
        let r = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", db, "--live", "--json"]))
        let owners = Dictionary(uniqueKeysWithValues: r.damaged.map { ($0.page, $0.owner ?? "") })
        #expect(owners[overflow] == "overflow of table docs" && owners[index] == "index docs_title", "\(owners)")
        #expect(owners[free]?.hasPrefix("freelist") == true, "\(owners)")

        // The sqlite3 shells closed the database (its WAL reset) while nothing captured it: the
        // database left the captured history, which no capture recorded as a gap. Damage or
        // changes? Repair says it cannot tell, changes nothing, and repairs once told.
        #expect(r.diverged != nil)
        let before = PageDamage.bytes(db)
        let refused = Shell.run([Paths.cairn, "repair", "pages", db, "--damaged"])
        #expect(refused.status == 1 && refused.stderr.contains("cannot tell damaged pages from changes") && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(PageDamage.bytes(db) == before)
        let forced = Shell.run([Paths.cairn, "repair", "pages", db, "--damaged", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Catalog.open(database: db, logger: quietLogger).control.redo.gaps.isEmpty)
    }

    /// Odd settings: 512-byte pages and auto-vacuum (pointer-map pages, a file that shrinks at
    /// commits), captured by a running `archive --follow`.
    @Test func smallPagesAndAutoVacuumAreValidatedAndRepaired() throws {
        let dir = TempDir()
        let db = dir.file("small.db")
        let made = Shell.run(["sqlite3", "-batch", db], input: """
            PRAGMA page_size=512; PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=WAL;
            CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
            CREATE INDEX notes_body ON notes(body);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000)
              INSERT INTO notes SELECT i, printf('note %05d %s', i, hex(randomblob(20))) FROM n;
            """)
        #expect(made.status == 0, "\(made.stderr)")
        try Catalog.initialize(database: db, logger: quietLogger).backup(.quiet())
        let follow = Shell.start([Paths.cairn, "archive", db, "--follow"])
        defer { kill(follow.processIdentifier, SIGTERM); follow.waitUntilExit() }
        #expect(Await.capture(of: db))
        let writes = Shell.run(["sqlite3", "-batch", db], input: "DELETE FROM notes WHERE id > 1990; INSERT INTO notes(body) VALUES('after');")
        #expect(writes.status == 0 && Await.captured(db, through: 2))
        func pages(_ sql: String) -> [UInt32] { Shell.run(["sqlite3", "-batch", db, sql]).stdout.split(separator: "\n").compactMap { UInt32($0) } }
        // Pages the WAL holds no newer version of: damage in the file is what readers see.
        let inWAL = PageDamage.walFrames(db, pageSize: 512)
        let index = try #require(pages("SELECT pageno FROM dbstat WHERE name='notes_body' AND pagetype='leaf' ORDER BY pageno").first { inWAL[$0] == nil })
        let table = try #require(pages("SELECT pageno FROM dbstat WHERE name='notes' AND pagetype='leaf' ORDER BY pageno").first { inWAL[$0] == nil })
        var rng = SeededGenerator(seed: 12)
        PageDamage.damage(db, pages: [2, index, table], pageSize: 512, using: &rng)
        let r = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", db, "--live", "--json"]))
        let owners = Dictionary(uniqueKeysWithValues: r.damaged.map { ($0.page, $0.owner ?? "") })
        #expect(owners == [2: "pointer map", index: "index notes_body", table: "table notes"], "\(owners) \(r.diverged ?? "")")
        let repaired = Shell.run([Paths.cairn, "repair", "pages", db, "--damaged"])
        #expect(repaired.status == 0, "\(repaired.stderr)")
        let after = try Self.json(LivePageReport.self, Shell.run([Paths.cairn, "validate", db, "--live", "--logical", "--json"]))
        #expect(after.ok, "\(after)")
    }
}
