@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

/// Every bad input gets a clear, typed error, a nonzero exit code, and changes nothing.
@Suite struct BadInputTests {
    struct Fixture {
        let dir = TempDir()
        let db: String
        let p: Catalog
        let record: BackupRecord
        var backupDir: String { p.layout.root + "/" + record.directory }

        init(pieceSize: UInt64 = 64 << 10, asCopy: Bool = false) throws {
            db = dir.file("app.db")
            Ledger.create(db, filler: 8000)
            p = try Catalog.initialize(database: db, logger: quietLogger)
            record = try p.backup(.quiet { $0.maxPieceSize = pieceSize; $0.asCopy = asCopy })
        }

        /// Restore must fail with the expected error and leave no file behind.
        func restoreFails(_ check: (EngineError) -> Bool) {
            let out = dir.file("out.db")
            let e = expectCairnError { try p.restore(to: out) }
            #expect(e.map(check) == true, "unexpected error: \(String(describing: e))")
            #expect(!FileSystem.exists(out))
            #expect(!FileSystem.list(dir.path).contains { $0.contains("cairn-restore") })
            #expect(e.map { ExitStatus.of($0) != 0 } == true)
            // validate reports the same failure
            let v = try? p.validate(backup: record.id)
            #expect(v?.first?.ok == false)
        }

        func piece(_ n: Int) -> String { backupDir + "/" + BackupPieceWriter.pieceName(n) }

        func mutate(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
            chmod(path, 0o644)
            var b = try FileSystem.readAll(path)
            change(&b)
            FileSystem.removeFile(path)
            try FileSystem.atomicWrite(b, to: path)
        }
    }

    @Test func databaseOfAnotherRepositoryIsRefused() throws {
        let a = try Fixture()
        let otherDir = TempDir()
        let b = otherDir.file("b.db")
        Ledger.create(b, filler: 10)
        _ = try Catalog.initialize(database: b, logger: quietLogger)
        // b is registered with its own DBID; a's repository belongs to another DBID.
        let e = expectCairnError { _ = try Catalog.open(database: b, repository: a.p.layout.root, logger: quietLogger) }
        guard case .dbidMismatch? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(e!.description.contains("DBID"))
        // An unregistered database pointed at a's repository is refused too.
        let c = otherDir.file("c.db")
        Ledger.create(c, filler: 10)
        let e2 = expectCairnError { _ = try Catalog.open(database: c, repository: a.p.layout.root, logger: quietLogger) }
        guard case .databaseMismatch? = e2 else { Issue.record("got \(String(describing: e2))"); return }
        #expect(a.p.control.backups.count == 1)
    }

    @Test func repositoryIdentityMismatchIsRefused() throws {
        let f = try Fixture()
        var id = try RepositoryIdentity.read(f.p.layout)
        id.dbid = "12345"
        try id.write(f.p.layout)
        let e = expectCairnError { _ = try Catalog.open(database: f.db, logger: quietLogger) }
        guard case .dbidMismatch? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func nonSQLiteFilesAreRefused() throws {
        let dir = TempDir()
        let text = dir.file("notes.txt")
        try FileSystem.atomicWrite(Array(String(repeating: "hello world\n", count: 100).utf8), to: text)
        let e = expectCairnError { _ = try Catalog.initialize(database: text, logger: quietLogger) }
        guard case .notSQLite? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(!FileSystem.exists(text + ".cairn"))
        let empty = dir.file("empty.db")
        try FileSystem.atomicWrite([], to: empty)
        #expect(throws: EngineError.self) { _ = try Catalog.initialize(database: empty, logger: quietLogger) }
        #expect(throws: EngineError.self) { _ = try Catalog.initialize(database: dir.file("missing.db"), logger: quietLogger) }

        // A registered database replaced by a non-SQLite file: backup refuses, records nothing.
        let f = try Fixture()
        for s in ["", "-wal", "-shm"] { FileSystem.removeFile(f.db + s) }
        try FileSystem.atomicWrite(Array(String(repeating: "x", count: 5000).utf8), to: f.db)
        let e2 = expectCairnError { try f.p.backup(.quiet()) }
        guard case .notSQLite? = e2 else { Issue.record("got \(String(describing: e2))"); return }
        #expect(f.p.control.backups.count == 1)
    }

    @Test func missingPiece() throws {
        let f = try Fixture()
        #expect(f.record.pieces >= 3)
        FileSystem.removeFile(f.piece(2))
        f.restoreFails { e in
            if case let .missingFile(path, _) = e { return path.hasSuffix("piece-0002.cbp") }
            return false
        }
    }

    @Test func truncatedPiece() throws {
        let f = try Fixture()
        try f.mutate(f.piece(1)) { $0.removeLast(100) }
        f.restoreFails { e in
            if case let .truncated(file, _, _) = e { return file.hasSuffix("piece-0001.cbp") }
            return false
        }
    }

    @Test func extraBytesAfterAPiece() throws {
        let f = try Fixture()
        try f.mutate(f.piece(1)) { $0 += [0, 0, 0, 0] }
        f.restoreFails { e in
            if case .corrupt = e { return e.description.contains("piece-0001.cbp") }
            return false
        }
    }

    /// A flipped byte anywhere in a piece (header, block header, entries, payload, trailer) is caught.
    @Test func corruptPieceBytesAreAlwaysDetected() throws {
        let f = try Fixture()
        let path = f.piece(1)
        let size = Int(FileSystem.fileSize(path)!)
        let offsets = [3, 20, 60, 64 + 2, 64 + 20, 64 + 40, 64 + 32 + 12 * 3, size / 2, size - 100, size - 40, size - 5]
        let original = try FileSystem.readAll(path)
        for off in offsets {
            try f.mutate(path) { $0 = original; $0[off] ^= 0x10 }
            let out = f.dir.file("out.db")
            let e = expectCairnError { try f.p.restore(to: out) }
            #expect(e?.description.contains("piece-0001.cbp") == true, "offset \(off): \(String(describing: e))")
            #expect(!FileSystem.exists(out))
        }
    }

    @Test func swappedPiecesAreDetected() throws {
        let f = try Fixture()
        let a = f.piece(1), b = f.piece(2)
        try FileSystem.rename(a, a + ".x")
        try FileSystem.rename(b, a)
        try FileSystem.rename(a + ".x", b)
        f.restoreFails { e in e.description.contains("piece-0001.cbp") }
    }

    @Test func corruptOrMissingManifest() throws {
        let f = try Fixture()
        let m = f.backupDir + "/" + BackupManifest.fileName
        let original = try FileSystem.readAll(m)
        try f.mutate(m) { $0[$0.count / 2] ^= 0x02 }
        f.restoreFails { e in
            if case let .corrupt(file, _, _) = e { return file == m }
            return false
        }
        try f.mutate(m) { $0 = Array(original.prefix(original.count - 10)) }
        f.restoreFails { e in
            if case let .truncated(file, _, _) = e { return file == m }
            return false
        }
        FileSystem.removeFile(m)
        f.restoreFails { e in
            if case let .missingFile(path, _) = e { return path == m }
            return false
        }
    }

    @Test func unknownManifestVersionNamesTheVersion() throws {
        let f = try Fixture()
        let m = f.backupDir + "/" + BackupManifest.fileName
        let doc = try CheckedDocument.decode(try FileSystem.readAll(m), kind: BackupManifest.kind, maxVersion: 1, file: m)
        try f.mutate(m) { $0 = CheckedDocument(kind: doc.kind, version: 3, usn: doc.usn, body: doc.body).encoded() }
        f.restoreFails { e in
            if case let .unsupportedFormat(_, found, _) = e { return found == 3 && e.description.contains("release 3") }
            return false
        }
    }

    @Test func unknownPieceVersionNamesTheVersion() throws {
        let f = try Fixture()
        try f.mutate(f.piece(1)) { b in
            b.withUnsafeMutableBytes { p in
                LE.put32(9, p.baseAddress!, 8)
                LE.put64(Hash.xxh3(p.baseAddress!, 56), p.baseAddress!, 56)
            }
        }
        f.restoreFails { e in
            if case let .unsupportedFormat(_, found, _) = e { return found == 9 }
            return false
        }
    }

    @Test func corruptImageCopyIsDetected() throws {
        let f = try Fixture(asCopy: true)
        let image = f.backupDir + "/" + ImageCopy.fileName
        try f.mutate(image) { $0[5000] ^= 0x01 }
        f.restoreFails { e in e.description.contains(ImageCopy.fileName) }
    }

    @Test func unknownBackupIdAndNoBackups() throws {
        let f = try Fixture()
        let e = expectCairnError { try f.p.restore(to: f.dir.file("x.db"), backup: 99) }
        guard case .backupNotFound(99, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        let dir = TempDir()
        let db = dir.file("fresh.db")
        Ledger.create(db, filler: 10)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let e2 = expectCairnError { try p.restore(to: dir.file("y.db")) }
        guard case .noBackups? = e2 else { Issue.record("got \(String(describing: e2))"); return }
    }

    /// A repository on a file system that fills up: the backup fails with a disk-full error,
    /// nothing is recorded, and no partial files remain. Needs root to mount a small tmpfs.
    @Test func fullDiskDuringBackupRecordsNothingAndCleansUp() throws {
        let dir = TempDir()
        let fs = try SmallFileSystem(at: dir.file("small"), size: "600k")
        let mount = fs.path
        defer { withExtendedLifetime(fs) {} }
        let db = dir.file("app.db")
        Ledger.create(db, filler: 20000)
        let p = try Catalog.initialize(database: db, repository: mount + "/repo", logger: quietLogger)
        let e = expectCairnError { try p.backup(.quiet { $0.compressionLevel = nil }) }
        guard case .diskFull? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(ExitStatus.of(e!) == 6)
        #expect(p.control.backups.isEmpty)
        #expect(FileSystem.list(mount + "/repo/backups").isEmpty)
        // The control file is intact and a restore target on the full disk fails cleanly too.
        let reopened = try Catalog.open(database: db, logger: quietLogger)
        #expect(reopened.control.backups.isEmpty)
        // Once there is room, backups work again.
        let dbBytes = FileSystem.fileSize(db)! + (FileSystem.fileSize(db + "-wal") ?? 0)
        #expect(Shell.run(["mount", "-o", "remount,size=\(dbBytes * 3 / 1024)k", mount]).status == 0)
        let r = try reopened.backup(.quiet())
        #expect(try reopened.validate(backup: r.id).allSatisfy(\.ok))
        // Fill what is left, then restore onto the full file system.
        Shell.run(["dd", "if=/dev/zero", "of=\(mount)/filler", "bs=64k"])
        let e2 = expectCairnError { try reopened.restore(to: mount + "/restored.db", backup: r.id) }
        guard case .diskFull? = e2 else { Issue.record("got \(String(describing: e2))"); return }
        #expect(!FileSystem.list(mount).contains { $0.contains("restore") })
    }
}
