@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Invariant 6: the repository alone (no control file, no database, another path, read-only)
/// is enough to restore; the catalog copy it holds; `catalog rebuild` from it.
@Suite struct RepositoryAloneTests {
    /// A fingerprint of a directory tree: every entry's relative path, kind, size, mode,
    /// modification time and (for files) content hash.
    static func treeFingerprint(_ root: String) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        let items = try fm.subpathsOfDirectory(atPath: root).sorted()
        for rel in items {
            let path = root + "/" + rel
            let a = try fm.attributesOfItem(atPath: path)
            let type = a[.type] as? FileAttributeType
            let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let perms = a[.posixPermissions] as? Int ?? 0
            var line = "\(rel) \(type?.rawValue ?? "?") \(a[.size] as? UInt64 ?? 0) \(perms) \(mtime)"
            if type == .typeRegular { line += " " + Hash.hex(try FileSystem.hashFile(path)) }
            out.append(line)
        }
        return out
    }

    /// A database with a level 0, a level 1 and logs, written by another process.
    struct History {
        let s: RedoTests.Setup
        let statements: [String]
        let sourceDigest: ContentDigest.Result
        let level0: BackupRecord
        let level1: BackupRecord

        init(name: String = #function) throws {
            s = try RedoTests.Setup(name: name)
            level0 = try s.p.backup(.quiet())
            statements = Ledger.transferStatements(70, seed: 11)
            var hold = WALHold(s.db)
            #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements[0..<40].joined(separator: "\n")).status == 0)
            _ = try s.p.archiveOnce()
            hold.release()
            level1 = try s.p.backup(.quiet { $0.level = 1 })
            hold = WALHold(s.db)
            #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements[40...].joined(separator: "\n")).status == 0)
            _ = try s.p.archiveOnce()
            hold.release()
            sourceDigest = try ContentDigest.compute(s.db)
        }

        /// Copies the repository elsewhere, then removes the database, every control-file copy
        /// and the original repository: only the copy remains.
        func leaveOnlyACopyOfTheRepository() throws -> String {
            let copy = s.dir.file("elsewhere/repo-copy")
            try FileManager.default.createDirectory(atPath: s.dir.file("elsewhere"), withIntermediateDirectories: true)
            #expect(Shell.run(["cp", "-a", s.p.layout.root, copy]).status == 0)
            for c in s.p.controlCopies { try? FileManager.default.removeItem(atPath: c) }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: s.db + suffix) }
            try FileManager.default.removeItem(atPath: s.p.layout.root)
            try? FileManager.default.removeItem(atPath: copy + "/control")
            return copy
        }
    }

    @Test func catalogCopyHoldsBackupsAndFollowsStructuralChangesOnly() throws {
        let h = try History()
        let p = h.s.p
        var catalog = try RepositoryCatalog.read(p.layout)
        // (Dates are kept to the second in JSON documents.)
        #expect(catalog.backups?.map(\.id) == p.control.backups.map(\.id))
        #expect(catalog.backups?.map(\.stateChecksum) == p.control.backups.map(\.stateChecksum))
        #expect(catalog.backups?.map(\.baseId) == p.control.backups.map(\.baseId))
        #expect(catalog.dbid == p.control.dbid && catalog.databasePath == h.s.db && catalog.repository == p.layout.root)
        // A log switch is not a structural change: the catalog file stays as it is.
        let before = try FileSystem.readAll(RepositoryCatalog.path(p.layout))
        let hold = WALHold(h.s.db)
        Ledger.write(h.s.db, 5, seed: 40)
        _ = try p.archiveOnce()
        hold.release()
        #expect(try FileSystem.readAll(RepositoryCatalog.path(p.layout)) == before)
        // A restore point, a policy change and a backup each rewrite it.
        try p.transact { (c: inout ControlFile) throws(EngineError) in
            c.restorePoints.append(RestorePoint(name: "before-upgrade", scn: 40, incarnation: 1, createdAt: Date(), guaranteed: true))
        }
        #expect(try RepositoryCatalog.read(p.layout).restorePoints?.map(\.name) == ["before-upgrade"])
        try p.transact { (c: inout ControlFile) throws(EngineError) in c.policy.retention = .window(days: 7) }
        #expect(try RepositoryCatalog.read(p.layout).policy?.windowDays == 7)
        let b = try p.backup(.quiet())
        catalog = try RepositoryCatalog.read(p.layout)
        #expect(catalog.backups?.last?.id == b.id && catalog.nextBackupId == b.id + 1)
    }

    @Test func restoreFromACopyOfTheRepositoryAlone() throws {
        let h = try History()
        let copy = try h.leaveOnlyACopyOfTheRepository()
        #expect(!FileSystem.exists(h.s.db) && !FileSystem.exists(h.s.p.layout.root))
        // Read-only, and nothing in it may change (the tests run as root, so also compare).
        #expect(Shell.run(["chmod", "-R", "a-w", copy]).status == 0)
        defer { Shell.run(["chmod", "-R", "u+w", copy]) }
        let before = try Self.treeFingerprint(copy)
        let out = h.s.dir.file("restored")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        let latest = try Catalog.restoreFromRepository(copy, to: out + "/latest.db", target: .complete, logger: quietLogger)
        #expect(latest.scn == 70)
        #expect(try ContentDigest.compute(out + "/latest.db") == h.sourceDigest)

        for n in [25, 40, 55] {
            let r = try Catalog.restoreFromRepository(copy, to: out + "/scn\(n).db", target: .scn(UInt64(n)), logger: quietLogger)
            #expect(r.scn == UInt64(n))
            #expect(try ContentDigest.compute(out + "/scn\(n).db").digest == (try h.s.expectedDigest(after: n, of: h.statements)), "SCN \(n)")
        }
        // The level 1 as it is, through its chain.
        let b1 = try Catalog.restoreFromRepository(copy, to: out + "/b1.db", target: .backupOnly, backup: h.level1.id, logger: quietLogger)
        #expect(b1.chain == [h.level0.id, h.level1.id])
        #expect(try ContentDigest.compute(out + "/b1.db").digest == (try h.s.expectedDigest(after: Int(h.level1.scn), of: h.statements)))

        // The CLI: no database argument, JSON result; --backup alone; --validate.
        let cli = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", out + "/cli.db", "--scn", "33", "--json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        #expect(json["scn"] as? Int == 33)
        #expect(try ContentDigest.compute(out + "/cli.db").digest == (try h.s.expectedDigest(after: 33, of: h.statements)))
        let b0 = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", out + "/b0.db", "--backup", String(h.level0.id)])
        #expect(b0.status == 0, "\(b0.stderr)")
        #expect(try ContentDigest.compute(out + "/b0.db").digest == (try h.s.expectedDigest(after: 0, of: h.statements)))
        #expect(Shell.run([Paths.cairn, "restore", "--repo", copy, "--validate"]).status == 0)
        let seq = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", out + "/seq1.db", "--sequence", "1", "--json"])
        #expect(seq.status == 0, "\(seq.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(seq.stdout.utf8)) as? [String: Any])?["scn"] as? Int == 40)
        let now = ISO8601DateFormatter().string(from: Date().addingTimeInterval(5))
        let time = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", out + "/now.db", "--time", now, "--json"])
        #expect(time.status == 0, "\(time.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(time.stdout.utf8)) as? [String: Any])?["scn"] as? Int == 70)
        let t = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", out + "/latest-cli.db", "--latest"])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(try ContentDigest.compute(out + "/latest-cli.db") == h.sourceDigest)

        // Nothing in the repository changed, nothing appeared at the database's old path.
        #expect(try Self.treeFingerprint(copy) == before)
        #expect(!FileSystem.exists(h.s.db) && !FileSystem.exists(RepositoryLayout.besideDatabaseControlCopy(forDatabase: h.s.db)))
        #expect(!FileSystem.exists(h.s.p.layout.root))
    }

    @Test func onlineLogsInTheRepositoryReachTheLatestCapturedPoint() throws {
        let s = try RedoTests.Setup()
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(30, seed: 5)
        let hold = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        // Captured into the online log, not switched and not archived.
        _ = try s.p.archiveOnce(switchLog: false)
        hold.release()
        let digest = try ContentDigest.compute(s.db)
        let copy = s.dir.file("copy")
        #expect(Shell.run(["cp", "-a", s.p.layout.root, copy]).status == 0)
        let out = s.dir.file("latest.db")
        let r = try Catalog.restoreFromRepository(copy, to: out, target: .complete, logger: quietLogger)
        #expect(r.scn == 30)
        #expect(try ContentDigest.compute(out) == digest)
    }

    @Test func restoreWithoutADatabaseNeedsARepositoryAndNeverWritesIntoIt() throws {
        let h = try History()
        let copy = try h.leaveOnlyACopyOfTheRepository()
        let neither = Shell.run([Paths.cairn, "restore", "--to", h.s.dir.file("x.db")])
        #expect(neither.status == 64)
        #expect(neither.stderr.contains("--repo DIR"))
        let inPlace = Shell.run([Paths.cairn, "restore", "--repo", copy, "--in-place"])
        #expect(inPlace.status == 64)
        let inside = Shell.run([Paths.cairn, "restore", "--repo", copy, "--to", copy + "/x.db"])
        #expect(inside.status == 64)
        #expect(inside.stderr.contains("inside the repository"))
        let notRepo = Shell.run([Paths.cairn, "restore", "--repo", h.s.dir.path, "--to", h.s.dir.file("y.db")])
        #expect(notRepo.status == 3)
        // The database named but not registered anywhere: the error says how to restore from --repo.
        let named = Shell.run([Paths.cairn, "restore", h.s.db, "--repo", copy, "--to", h.s.dir.file("z.db")])
        #expect(named.status == 64)
        #expect(named.stderr.contains("cairn restore --repo"))
        // Opened from the repository alone, nothing can be recorded.
        let (p, _) = try Catalog.openRepositoryAlone(copy, logger: quietLogger)
        #expect(p.isRepositoryAlone)
        let e = expectCairnError { try p.transact { (_: inout ControlFile) throws(EngineError) in } }
        #expect(e == .readOnlyCatalog(repository: FileSystem.absolute(copy)))
    }

    @Test func archiveDestinationsElsewhereAreUsedWhenPresentAndSkippedWhenNot() throws {
        var redo = RedoOptions()
        let s0 = TempDir()
        let extra = s0.file("nas-archive")
        redo.archiveDestinations = [extra]
        let s = try RedoTests.Setup(redo: redo)
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(20, seed: 8)
        let hold = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        _ = try s.p.archiveOnce()
        hold.release()
        let copy = s.dir.file("copy")
        #expect(Shell.run(["cp", "-a", s.p.layout.root, copy]).status == 0)
        // The logs are only in the external destination: used while it exists.
        let r = try Catalog.restoreFromRepository(copy, to: s.dir.file("a.db"), target: .complete, logger: quietLogger)
        #expect(r.scn == 20)
        // Gone: skipped (with a note); the closed log still in the repository's online group serves.
        try FileManager.default.removeItem(atPath: extra)
        let (_, report) = try Catalog.openRepositoryAlone(copy, logger: quietLogger)
        #expect(report.skipped.contains { $0.contains(extra) && $0.contains("not present") })
        let online = try Catalog.restoreFromRepository(copy, to: s.dir.file("b.db"), target: .scn(20), logger: quietLogger)
        #expect(online.scn == 20)
        #expect(try ContentDigest.compute(s.dir.file("b.db")).digest == (try s.expectedDigest(after: 20, of: statements)))
        // Without it too, SCN 20 is out of reach and the error says so.
        try FileManager.default.removeItem(atPath: copy + "/online")
        let e = expectCairnError { _ = try Catalog.restoreFromRepository(copy, to: s.dir.file("c.db"), target: .scn(20), logger: quietLogger) }
        #expect(e?.description.contains("SCN 20") == true)
    }

    @Test func catalogRebuildRestoresBackupsRestorePointsAndPolicyFromTheCatalog() throws {
        let h = try History()
        let p = h.s.p
        try p.transact { (c: inout ControlFile) throws(EngineError) in
            c.restorePoints.append(RestorePoint(name: "rp1", scn: 40, incarnation: 1, createdAt: Date(), guaranteed: true))
            c.policy.retention = .redundancy(3)
            c.policy.recoveryAreaLimit = 1 << 30
            if let i = c.backups.firstIndex(where: { $0.id == h.level0.id }) { c.backups[i].keepForever = true }
        }
        let original = p.control
        for c in p.controlCopies { try FileManager.default.removeItem(atPath: c) }
        let (rebuilt, report) = try CatalogRebuilder.rebuild(database: h.s.db, repository: nil, logger: quietLogger)
        let c = rebuilt.control
        #expect(report.backups == 2 && report.skipped.isEmpty)
        #expect(c.restorePoints.map { "\($0.name) \($0.scn) \($0.incarnation) \($0.guaranteed)" } == ["rp1 40 1 true"])
        #expect(c.policy == original.policy)
        #expect(c.backups.map(\.id) == original.backups.map(\.id))
        #expect(c.backups.first { $0.id == h.level0.id }?.keepForever == true)
        #expect(c.backups.first { $0.id == h.level1.id }?.baseId == h.level0.id)
        #expect(c.nextBackupId == original.nextBackupId)
        #expect(c.redo.logs.map(\.key) == original.redo.logs.map(\.key))
        // It restores, and a later backup continues the numbering.
        let out = h.s.dir.file("after-rebuild.db")
        let r = try rebuilt.recover(to: out, target: .scn(40))
        #expect(r.scn == 40)
        #expect(try ContentDigest.compute(out).digest == (try h.s.expectedDigest(after: 40, of: h.statements)))
        #expect(try rebuilt.backup(.quiet()).id == original.nextBackupId)

        // A backup whose files went missing comes back as EXPIRED.
        for c in rebuilt.controlCopies { try FileManager.default.removeItem(atPath: c) }
        try FileManager.default.removeItem(atPath: rebuilt.layout.root + "/" + h.level1.directory)
        let (again, report2) = try CatalogRebuilder.rebuild(database: h.s.db, repository: nil, logger: quietLogger)
        #expect(again.control.backups.first { $0.id == h.level1.id }?.status == .expired)
        #expect(report2.skipped.contains { $0.contains("backup \(h.level1.id)") })
    }

    @Test func catalogRebuildOfARepositoryAtAnotherPath() throws {
        let h = try History()
        let moved = h.s.dir.file("moved-repo")
        try FileManager.default.moveItem(atPath: h.s.p.layout.root, toPath: moved)
        try? FileManager.default.removeItem(atPath: RepositoryLayout.besideDatabaseControlCopy(forDatabase: h.s.db))
        let r = Shell.run([Paths.cairn, "catalog", "rebuild", h.s.db, "--repo", moved, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try Catalog.open(database: h.s.db, repository: moved, logger: quietLogger)
        #expect(p.control.redo.archiveDestinations == [moved + "/archive"])
        #expect(p.control.redo.memberDirectories == [moved + "/online"])
        #expect(p.control.controlCopies.contains(moved + "/control/cairn.ctl"))
        let out = h.s.dir.file("m.db")
        _ = try p.recover(to: out, target: .scn(60))
        #expect(try ContentDigest.compute(out).digest == (try h.s.expectedDigest(after: 60, of: h.statements)))
    }
}
