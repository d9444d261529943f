@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Level-1 backups: page change tracking, differential and cumulative, chains on restore.
@Suite struct IncrementalTests {
    /// A level 0, then alternating writes (another process) and level-1 backups; every backup
    /// restores to exactly the source as it was when the backup was taken.
    @Test(arguments: [LogMode.archivelog, LogMode.noarchivelog]) func levelOnesRestoreExactly(mode: LogMode) throws {
        let dir = TempDir("incr")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        var redo = RedoOptions()
        redo.mode = mode
        let p = try Catalog.initialize(database: db, redo: redo, logger: quietLogger)
        // (As a running capture would: the sqlite3 writers cannot reset the WAL uncaptured.)
        let hold = WALHold(db)
        defer { hold.release() }
        var digests: [UInt64: ContentDigest.Result] = [:]
        let l0 = try p.backup(.quiet())
        digests[l0.id] = try ContentDigest.compute(db)
        var levelOnes: [BackupRecord] = []
        for round in 0..<4 {
            Ledger.write(db, 40, seed: round + 10)
            if mode == .archivelog && round == 1 { _ = try p.archiveOnce() }
            let r = try p.backup(.quiet { $0.level = 1; $0.cumulative = round == 3 })
            digests[r.id] = try ContentDigest.compute(db)
            levelOnes.append(r)
            #expect(r.level == 1)
            #expect(r.baseId == (round == 3 ? l0.id : (levelOnes.count > 1 ? levelOnes[levelOnes.count - 2].id : l0.id)))
            #expect((r.pagesStored ?? .max) < UInt64(r.pageCount) / 4, "a level 1 stores only changed pages")
            #expect(r.bytes < l0.bytes / 4)
            let m = try BackupManifest.read(directory: p.layout.root + "/" + r.directory)
            #expect(m.changeSource == (mode == .archivelog ? "tracked" : "scanned"))
        }
        for (id, digest) in digests {
            let out = dir.file("r\(id).db")
            try p.restore(to: out, backup: id)
            #expect(try ContentDigest.compute(out) == digest, "backup \(id)")
        }
        #expect(try p.validate().allSatisfy(\.ok))
    }

    /// Capture runs in another process (`archive --follow`): the level 1 finds its pages from
    /// the persisted page map, the online logs and the WAL.
    @Test func levelOneWhileCaptureRunsElsewhere() throws {
        let dir = TempDir("incr-follow")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        _ = try p.backup(.quiet())
        let follow = Shell.start([Paths.cairn, "archive", db, "--follow"])
        defer { if follow.isRunning { kill(follow.processIdentifier, SIGINT); follow.waitUntilExit() } }
        #expect(Await.capture(of: db))
        var checks: [(UInt64, ContentDigest.Result)] = []
        for round in 0..<3 {
            let before = p.redoStatus.scn
            Ledger.write(db, 60, seed: round + 20)
            if round == 1 { _ = Shell.run([Paths.cairn, "switch-log", db]) }
            #expect(Await.captured(db, through: before + 60))
            let r = try p.backup(.quiet { $0.level = 1 })
            #expect(r.level == 1 && (r.pagesStored ?? .max) < UInt64(r.pageCount) / 4)
            let m = try BackupManifest.read(directory: p.layout.root + "/" + r.directory)
            #expect(m.changeSource == "tracked")
            checks.append((r.id, try ContentDigest.compute(db)))
        }
        // A writer running during a level 1.
        let committed = p.redoStatus.scn
        let writer = Ledger.startWriter(db, 400, seed: 30)
        #expect(Await.captured(db, through: committed + 1))
        let during = try p.backup(.quiet { $0.level = 1 })
        writer.waitUntilExit()
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        for (id, digest) in checks {
            let out = dir.file("r\(id).db")
            try p.restore(to: out, backup: id)
            #expect(try ContentDigest.compute(out) == digest, "backup \(id)")
        }
        let out = dir.file("during.db")
        try p.restore(to: out, backup: during.id)
        let c = Ledger.check(out)
        #expect(c.total == Ledger.accounts * 1000 && c.integrity == "ok")
        // Recovery through the chain and the logs after it reaches the latest state.
        let latest = dir.file("latest.db")
        // (Reopened: the capture process changed the control file since `p` read it.)
        let fresh = try Catalog.open(database: db, logger: quietLogger)
        let result = try fresh.recover(to: latest, target: .complete)
        #expect(result.chain.count >= 2, "restore starts from a level-1 chain")
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(db)))
    }

    @Test func levelOneWithoutLevelZeroTakesLevelZero() throws {
        let dir = TempDir("incr-first")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let r = try p.backup(.quiet { $0.level = 1 })
        #expect(r.level == 0 && r.baseId == nil)
        let c = try p.backup(.quiet { $0.level = 1; $0.cumulative = true })
        #expect(c.level == 1 && c.baseId == r.id && c.isCumulative)
    }

    /// The database shrinks (VACUUM) and grows again between level 1s; pages past the end
    /// of a smaller database must not come back on restore.
    @Test func shrinkAndGrowBetweenLevelOnes() throws {
        let dir = TempDir("incr-shrink")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        _ = try p.backup(.quiet())
        Shell.run(["sqlite3", db, "DELETE FROM transfers WHERE id % 2 = 0; VACUUM;"])
        let small = try p.backup(.quiet { $0.level = 1 })
        let smallDigest = try ContentDigest.compute(db)
        Shell.run(["sqlite3", db, "CREATE TABLE blobs(b BLOB); INSERT INTO blobs SELECT zeroblob(3000) FROM transfers LIMIT 2000;"])
        let big = try p.backup(.quiet { $0.level = 1 })
        let bigDigest = try ContentDigest.compute(db)
        #expect(big.pageCount > small.pageCount)
        for (r, d) in [(small, smallDigest), (big, bigDigest)] {
            let out = dir.file("r\(r.id).db")
            try p.restore(to: out, backup: r.id)
            #expect(try ContentDigest.compute(out) == d)
            #expect(Ledger.check(out).integrity == "ok")
        }
    }

    /// Restore picks the chain with the fewest bytes to read; a broken chain is never used
    /// and restoring it directly says what is missing.
    @Test func cheapestChainAndBrokenChain() throws {
        let dir = TempDir("incr-chain")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let hold = WALHold(db)
        defer { hold.release() }
        let l0 = try p.backup(.quiet())
        Ledger.write(db, 300, seed: 3)
        _ = try p.archiveOnce()
        let l1 = try p.backup(.quiet { $0.level = 1 })
        Ledger.write(db, 20, seed: 4)
        _ = try p.archiveOnce()
        let out = dir.file("latest.db")
        let r = try p.recover(to: out, target: .complete)
        #expect(r.chain == [l0.id, l1.id])
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
        // Mark the level 0 expired: the level 1 cannot be restored, recovery says so.
        try p.transact { (c: inout ControlFile) throws(EngineError) in
            c.backups[c.backups.firstIndex { $0.id == l0.id }!].status = .expired
        }
        let e = expectCairnError { try p.restore(to: dir.file("x.db"), backup: l1.id) }
        #expect(e?.description.contains("chain") == true)
        #expect(!FileSystem.exists(dir.file("x.db")))
    }

    /// A damaged level-1 piece or page map is detected by validate and by restore.
    @Test func damagedLevelOneIsDetected() throws {
        let dir = TempDir("incr-damage")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 10000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        _ = try p.backup(.quiet())
        Ledger.write(db, 50)
        let l1 = try p.backup(.quiet { $0.level = 1 })
        let bdir = p.layout.root + "/" + l1.directory
        for name in ["piece-0001.cbp", BackupEngine.pageMapName] {
            let path = bdir + "/" + name
            let original = try FileSystem.readAll(path)
            var bad = original
            bad[bad.count / 2] ^= 0x40
            try FileSystem.atomicWrite(bad, to: path)
            let v = try p.validate(backup: l1.id)
            #expect(v.first?.ok == false && v.first?.error?.contains(name) == true, "\(name): \(v.first?.error ?? "")")
            let e = expectCairnError { try p.restore(to: dir.file("bad.db"), backup: l1.id) }
            #expect(e != nil)
            #expect(!FileSystem.exists(dir.file("bad.db")))
            try FileSystem.atomicWrite(original, to: path)
        }
    }

    @Test func cliLevelOneAndJSON() throws {
        let dir = TempDir("incr-cli")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 5000)
        #expect(Shell.run([Paths.cairn, "init", db]).status == 0)
        #expect(Shell.run([Paths.cairn, "backup", db]).status == 0)
        Ledger.write(db, 30)
        let r = Shell.run([Paths.cairn, "backup", db, "--level", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"level\" : 1") && r.stdout.contains("\"baseId\" : 1"))
        let list = Shell.run([Paths.cairn, "list", "backups", db, "--json"])
        #expect(list.stdout.contains("\"pagesStored\""))
        #expect(Shell.run([Paths.cairn, "backup", db, "--level", "2"]).status == 64)
        #expect(Shell.run([Paths.cairn, "backup", db, "--level", "1", "--as-copy"]).status == 64)
        #expect(Shell.run([Paths.cairn, "backup", db, "--cumulative"]).status == 64)
    }
}
