import CairnCatalog
import CairnEngines
import CairnFormats
import CairnTestSupport
import Foundation
import Testing

/// Page repair given what it cannot or must not do: each is a clear error and nothing changes.
@Suite(.serialized) struct PageRepairBadInputTests {
    /// A captured database with damaged leaves of old rows, capture running.
    static func damaged(_ name: String = #function, pages: Int = 3) throws -> (CaptureHarness, Process, [UInt32]) {
        let h = try CaptureHarness(name: name, count: 100, filler: 2000)
        let follow = h.startFollow()
        #expect(Await.capture(of: h.db))
        h.write(h.script(0..<100, every: 50))
        #expect(h.waitCaptured(100))
        let leaves = Array(PageDamage.leafPages(h.db, table: "transfers").prefix(pages))
        var rng = SeededGenerator(seed: 11)
        PageDamage.damage(h.db, pages: leaves, using: &rng)
        return (h, follow, leaves)
    }

    static func repair(_ h: CaptureHarness, _ args: String...) -> Shell.Output {
        Shell.run([Paths.cairn, "repair", "pages", h.db] + args)
    }

    @Test func pagesThatAreNotDamagedOrNotPagesAreRefused() throws {
        let (h, follow, leaves) = try Self.damaged()
        defer { h.stop(follow) }
        let before = PageDamage.bytes(h.db)
        let past = Self.repair(h, "--page", "\(leaves[0]),99999")
        #expect(past.status == 64 && past.stderr.contains("page 99999 is not a page of") && past.stderr.contains("Nothing was changed"), "\(past.stderr)")
        let sound = Self.repair(h, "--page", "\(leaves[0])", "--page", "2")
        #expect(sound.status == 64 && sound.stderr.contains("page(s) 2 of") && sound.stderr.contains("match their captured versions"), "\(sound.stderr)")
        for args in [["--page", "0"], ["--page", "x"], [], ["--damaged", "--page", "3"]] {
            let r = Shell.run([Paths.cairn, "repair", "pages", h.db] + args)
            #expect(r.status == 64, "\(args): \(r.stderr)")
        }
        #expect(PageDamage.bytes(h.db) == before)
    }

    @Test func aSecondRepairWhileOneRunsIsRefused() throws {
        let (h, follow, _) = try Self.damaged()
        defer { h.stop(follow) }
        let lock = try LockFile.create(h.p.layout.controlDirectory + "/repair.lock")
        #expect(lock.tryLock(.exclusive))
        let before = PageDamage.bytes(h.db)
        let r = Self.repair(h, "--damaged")
        #expect(r.status == 75 && r.stderr.contains("another repair"), "\(r.stderr)")
        #expect(PageDamage.bytes(h.db) == before)
        lock.close()
        #expect(Self.repair(h, "--damaged").status == 0)
    }

    @Test func aDamagedSourceBackupFallsBackToTheNextOneOrSaysWhy() throws {
        let (h, follow, leaves) = try Self.damaged(pages: 2)
        defer { h.stop(follow) }
        try h.p.backup(.quiet())
        let newest = try #require(h.p.control.backups.last)
        Self.spoil(h.p.layout.root + "/" + newest.directory)
        let r = Self.repair(h, "--damaged", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("backup 1 and the logs after it") && !r.stdout.contains("backup \(newest.id) and"))

        var rng = SeededGenerator(seed: 3)
        PageDamage.damage(h.db, pages: leaves, using: &rng)
        Self.spoil(h.p.layout.root + "/" + h.p.control.backups[0].directory)
        let before = PageDamage.bytes(h.db)
        let failed = Self.repair(h, "--damaged")
        #expect(failed.status == 1 && failed.stderr.contains("cannot be rebuilt") && failed.stderr.contains("backup \(newest.id):")
                && failed.stderr.contains("backup 1:") && failed.stderr.contains("Nothing was changed"), "\(failed.stderr)")
        #expect(PageDamage.bytes(h.db) == before)
    }

    /// Flips bytes all through every piece of a backup.
    static func spoil(_ directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix("piece-") {
            let fd = open(directory + "/" + name, O_RDWR)
            defer { close(fd) }
            var st = stat()
            fstat(fd, &st)
            for at in stride(from: 4096, to: Int(st.st_size) - 4096, by: 16_384) { PageDamage.scramble(fd, at: off_t(at), count: 16) }
        }
    }

    @Test func pagesNeverCapturedGetTheNextBestOption() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        _ = try Catalog.initialize(database: db, logger: quietLogger)
        let follow = Shell.start([Paths.cairn, "archive", db, "--follow"])
        defer { kill(follow.processIdentifier, SIGTERM); follow.waitUntilExit() }
        #expect(Await.capture(of: db))
        Ledger.write(db, 20)
        #expect(Await.captured(db, through: 20))
        var rng = SeededGenerator(seed: 5)
        PageDamage.damage(db, pages: [PageDamage.leafPages(db, table: "transfers")[3]], using: &rng)
        let before = PageDamage.bytes(db)
        let r = Shell.run([Paths.cairn, "repair", "pages", db, "--damaged"])
        #expect(r.status == 1 && r.stderr.contains("no backup holds them and the online logs do not hold them whole")
                && r.stderr.contains(".recover") && r.stderr.contains("Nothing was changed"), "\(r.stderr)")
        #expect(PageDamage.bytes(db) == before)
    }

    @Test func noarchivelogDatabasesHaveNoPageMapToCheckAgainst() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 200)
        _ = try Catalog.initialize(database: db, logger: quietLogger)
        #expect(Shell.run([Paths.cairn, "archivelog", db, "off"]).status == 0)
        for args in [["validate", db, "--live"], ["repair", "pages", db, "--damaged"]] {
            let r = Shell.run([Paths.cairn] + args)
            #expect(r.status == 64 && r.stderr.contains("NOARCHIVELOG") && r.stderr.contains("cairn archivelog \(db) on"), "\(r.stderr)")
        }
    }

    @Test func anotherDatabaseCopiedOverTheFileIsNotRepairedPageByPage() throws {
        let h = try CaptureHarness(count: 50, filler: 2000)
        let follow = h.startFollow()
        defer { h.stop(follow) }
        #expect(Await.capture(of: h.db))
        h.write(h.script(0..<50, every: 0) + "PRAGMA wal_checkpoint(TRUNCATE);")
        #expect(h.waitCaptured(50))
        let other = h.dir.file("other.db")
        Ledger.create(other, filler: 2100)
        // Copied over it in place (same file), as `cat other > db` would.
        let bytes = PageDamage.bytes(other)
        let fd = open(h.db, O_WRONLY)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        close(fd)
        let before = PageDamage.bytes(h.db)
        let r = Self.repair(h, "--damaged")
        #expect(r.status == 1 && r.stderr.contains("does not look like the database Cairn captured") && r.stderr.contains("Nothing was changed"), "\(r.stderr)")
        #expect(PageDamage.bytes(h.db) == before)
    }

    /// Pieces written before block indexes existed have none: their blocks are walked.
    @Test func piecesWithoutABlockIndexAreWalked() throws {
        let (h, follow, _) = try Self.damaged(pages: 3)
        defer { h.stop(follow) }
        let dir = h.p.layout.root + "/" + h.p.control.backups[0].directory
        var m = try BackupManifest.read(directory: dir)
        #expect(m.files.allSatisfy { $0.blockIndex != nil })
        for i in m.files.indices { m.files[i].blockIndex = nil }
        try FileManager.default.removeItem(atPath: dir + "/" + BackupManifest.fileName)
        _ = try m.write(directory: dir)
        let r = Self.repair(h, "--damaged", "--json")
        #expect(r.status == 0 && r.stdout.contains("backup 1 and the logs after it"), "\(r.stderr)")
        let after = Shell.run([Paths.cairn, "validate", h.db, "--live"])
        #expect(after.status == 0, "\(after.stdout)")
    }
}
