@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

@Suite struct BackupRestoreTests {
    /// With checkpoints every 50 transactions (TRUNCATE) the WAL is often empty; with none
    /// (SQLite's autocheckpoint only) most pages of the snapshot come from the WAL.
    @Test(arguments: [0, 50]) func onlineBackupWhileAnotherProcessWritesIsTransactionConsistent(checkpointEvery: Int) throws {
        let dir = TempDir("online\(checkpointEvery)")
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        // A writer with more work than the test waits for: it is still writing while the
        // backups run, even on a busy machine, and is stopped once they are done.
        let writer = Ledger.startWriter(db, 30000, checkpointEvery: checkpointEvery)
        let started = Date()
        while writer.isRunning && Shell.run(["sqlite3", db, "SELECT count(*) > 0 FROM transfers"]).stdout.hasPrefix("0") && Date().timeIntervalSince(started) < 30 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        var ids: [UInt64] = []
        repeat {
            ids.append(try p.backup(.quiet { $0.maxPieceSize = 256 << 10 }).id)
        } while writer.isRunning && ids.count < 4
        if writer.isRunning { kill(writer.processIdentifier, SIGKILL) } else { #expect(writer.terminationStatus == 0) }
        writer.waitUntilExit()
        #expect(ids.count >= 2)
        var seen = Set<Int>()
        for id in ids {
            let out = dir.file("r\(id).db")
            try p.restore(to: out, backup: id)
            let c = Ledger.check(out)
            #expect(c.total == Ledger.accounts * 1000, "backup \(id) is not at a transaction boundary")
            #expect(c.integrity == "ok")
            seen.insert(c.transfers)
        }
        // Backups taken during the run saw different states of the database.
        #expect(seen.count >= 2)
    }

    @Test func restoreEqualsSourceDigest() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 30000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        Ledger.write(db, 500)
        let r = try p.backup(.quiet { $0.tag = "nightly" })
        #expect(r.level == 0 && r.tag == "nightly" && r.pieces >= 1 && r.bytes > 0)
        let out = dir.file("restored.db")
        try p.restore(to: out)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
        // Byte-for-byte the same pages as SQLite's own copy of the database.
        let copy = dir.file("vacuum.db")
        Shell.run(["sqlite3", db, "VACUUM INTO '\(copy)'"])
        #expect(try ContentDigest.compute(out).digest == (try ContentDigest.compute(copy)).digest)
        if let workload = Paths.workload {
            let a = Shell.run(["python3", workload, "digest", db]).stdout
            let b = Shell.run(["python3", workload, "digest", out]).stdout
            #expect(!a.isEmpty && a == b)
        }
    }

    @Test func workloadWriterDuringBackup() throws {
        guard let workload = Paths.workload else {
            // The sqlite3 writer tests cover the same ground when shared/ is absent.
            return
        }
        let dir = TempDir()
        let db = dir.file("w.db")
        #expect(Shell.run(["python3", workload, "create", db, "--mib", "8"]).status == 0)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let writer = Shell.start(["python3", workload, "write", db, "--txns", "2000", "--sync", "full"])
        let during = try p.backup(.quiet())
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        let out = dir.file("during.db")
        try p.restore(to: out, backup: during.id)
        #expect(Shell.run(["sqlite3", out, "PRAGMA integrity_check"]).stdout.hasPrefix("ok"))
        let after = try p.backup(.quiet())
        let out2 = dir.file("after.db")
        try p.restore(to: out2, backup: after.id)
        #expect(Shell.run(["python3", workload, "digest", db]).stdout == Shell.run(["python3", workload, "digest", out2]).stdout)
    }

    @Test func piecesRespectMaxPieceSizeAndManifestListsThem() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 40000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let max: UInt64 = 100 << 10
        let r = try p.backup(.quiet { $0.maxPieceSize = max; $0.compressionLevel = nil })
        #expect(r.pieces > 3)
        let backupDir = p.layout.root + "/" + r.directory
        let m = try BackupManifest.read(directory: backupDir)
        #expect(m.files.count == r.pieces)
        for f in m.files {
            #expect(f.bytes <= max)
            #expect(FileSystem.fileSize(backupDir + "/" + f.name) == f.bytes)
        }
        #expect(m.files.reduce(0) { $0 + $1.pages } == UInt64(m.pageCount))
        let out = dir.file("r.db")
        try p.restore(to: out)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
    }

    @Test func tooSmallPieceSizeIsRejected() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 10)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let e = expectCairnError { try p.backup(.quiet { $0.maxPieceSize = 1000 }) }
        #expect(e?.description.contains("--max-piece-size") == true)
        #expect(p.control.backups.isEmpty)
    }

    @Test func compressionShrinksBackups() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 30000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let fast = try p.backup(.quiet())
        let z = try p.backup(.quiet { $0.compressionLevel = 3 })
        let raw = try p.backup(.quiet { $0.compressionLevel = nil })
        #expect(fast.bytes < raw.bytes * 9 / 10)
        #expect(z.bytes < raw.bytes * 6 / 10)
        #expect(z.stateChecksum == raw.stateChecksum && fast.stateChecksum == raw.stateChecksum)
        #expect(raw.bytes >= raw.databaseBytes)
    }

    @Test func imageCopyIsAPlainVerifiedSQLiteFile() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 5000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        Ledger.write(db, 100)
        let r = try p.backup(.quiet { $0.asCopy = true; $0.tag = "copy" })
        #expect(r.kind == .imageCopy && r.pieces == 1)
        let image = p.layout.root + "/" + r.directory + "/" + ImageCopy.fileName
        // Usable as is: open a copy of it with sqlite3 (the copy in the repository stays read-only).
        let usable = dir.file("usable.db")
        try FileManager.default.copyItem(atPath: image, toPath: usable)
        #expect(Ledger.check(usable).integrity == "ok")
        #expect(try ContentDigest.compute(usable) == (try ContentDigest.compute(db)))
        #expect(try p.validate(backup: r.id).allSatisfy(\.ok))
        let out = dir.file("fromcopy.db")
        try p.restore(to: out, backup: r.id)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
    }

    @Test func restoreRefusesToOverwriteUnlessForced() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        let out = dir.file("exists.db")
        try Array("precious".utf8).withBytes { (ptr, n) throws(EngineError) in
            let f = try RawFile(path: out, mode: .createNew)
            try f.write(ptr, count: n, at: 0)
        }
        let e = expectCairnError { try p.restore(to: out) }
        guard case .targetExists? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(String(decoding: try FileSystem.readAll(out), as: UTF8.self) == "precious")
        try p.restore(to: out, force: true)
        #expect(try ContentDigest.compute(out) == (try ContentDigest.compute(db)))
    }

    @Test func validateOnlyWritesNothing() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 1000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        let before = FileSystem.list(dir.path)
        let r = try p.validateRestore()
        #expect(r.id == 1)
        #expect(FileSystem.list(dir.path) == before)
        #expect(try p.validate().allSatisfy(\.ok))
    }

    @Test func inPlaceRestoreReplacesTheLiveDatabaseAndOpensAnIncarnation() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 1000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let good = try ContentDigest.compute(db)
        try p.backup(.quiet())
        Shell.run(["sqlite3", db, "DELETE FROM transfers; UPDATE accounts SET balance = 0;"])
        #expect(try ContentDigest.compute(db) != good)
        try p.restoreInPlace()
        #expect(try ContentDigest.compute(db) == good)
        #expect(p.control.incarnation == 2)
        #expect(p.control.incarnations.last?.parent == 1)
        #expect(!FileSystem.list(dir.path).contains { $0.contains("cairn-restore") })
    }

    @Test func inPlaceRestoreRefusesWhileAnotherProcessHasTheDatabaseOpen() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 1000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        Ledger.write(db, 20)
        let digest = try ContentDigest.compute(db)
        // sqlite3 keeps the database open while it waits on its standard input.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["sqlite3", db]
        let stdin = Pipe()
        holder.standardInput = stdin
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        stdin.fileHandleForWriting.write(Data("SELECT count(*) FROM accounts;\n".utf8))
        #expect(Await.until { !LiveDatabase.openers(of: db).isEmpty })
        let e = expectCairnError { try p.restoreInPlace() }
        try stdin.fileHandleForWriting.close()
        holder.waitUntilExit()
        guard case .databaseBusy? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(e!.description.contains("sqlite3"))
        #expect(try ContentDigest.compute(db) == digest)
        #expect(p.control.incarnation == 1)
    }

    @Test func restoreToTheDeletedDatabasePathBringsItBack() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 2000)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        Ledger.write(db, 50)
        let digest = try ContentDigest.compute(db)
        try p.backup(.quiet())
        for s in ["", "-wal", "-shm"] { FileSystem.removeFile(db + s) }
        let reopened = try Catalog.open(database: db, logger: quietLogger)
        try reopened.restore(to: db)
        #expect(try ContentDigest.compute(db) == digest)
    }

    @Test func backupAddsNothingToTheDatabase() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 500)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let schema = Shell.run(["sqlite3", db, "SELECT * FROM sqlite_master"]).stdout
        let digest = try ContentDigest.compute(db)
        try p.backup(.quiet())
        try p.backup(.quiet { $0.asCopy = true })
        #expect(Shell.run(["sqlite3", db, "SELECT * FROM sqlite_master"]).stdout == schema)
        #expect(try ContentDigest.compute(db) == digest)
    }
}
