@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
@testable import CairnCLI
import Foundation
import Testing

@Suite struct ControlFileTests {
    func registered(_ dir: TempDir, extra: [String] = []) throws -> Catalog {
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        return try Catalog.initialize(database: db, extraControlCopies: extra, logger: quietLogger)
    }

    @Test func initRegistersWithDBIDIncarnationWALAndCopies() throws {
        let dir = TempDir()
        let db = dir.file("plain.db")
        Shell.run(["sqlite3", db, "PRAGMA journal_mode=DELETE; CREATE TABLE t(x); INSERT INTO t VALUES(1);"])
        let p = try Catalog.initialize(database: db, extraControlCopies: [dir.file("third/cairn.ctl")], logger: quietLogger)
        #expect(p.dbid != 0)
        #expect(p.control.incarnation == 1)
        #expect(p.control.incarnations.count == 1)
        #expect(Shell.run(["sqlite3", db, "PRAGMA journal_mode;"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "wal")
        #expect(p.control.controlCopies.count == 3)
        for c in p.control.controlCopies {
            let doc = try CheckedDocument.decode(try FileSystem.readAll(c), kind: "control", maxVersion: 1, file: c)
            #expect(doc.usn == 1)
        }
        #expect(FileSystem.isDirectory(db + ".cairn/backups"))
        // Nothing but the control-file copy and the repository was added beside the database; no temporary files.
        let names = FileSystem.list(dir.path).filter { !$0.hasPrefix("plain.db") || $0.contains("tmp") }
        #expect(names.sorted() == [".plain.db.cairn-control", "third"])
        // A second init is refused.
        let again = expectCairnError { _ = try Catalog.initialize(database: db, logger: quietLogger) }
        guard case .alreadyRegistered = again else { Issue.record("got \(String(describing: again))"); return }
    }

    /// One transaction model: `control` always shows the newest copy on disk (a change made
    /// through another handle, as another process would, is seen without any reload), and
    /// `transact` from several handles at once never loses an update.
    @Test func controlIsTheNewestCopyAndTransactionsNeverLoseAnUpdate() throws {
        let dir = TempDir()
        let a = try registered(dir)
        let b = try Catalog.open(database: dir.file("app.db"), logger: quietLogger)
        let start = a.control.nextBackupId
        try b.transact { (c: inout ControlFile) throws(EngineError) in c.nextBackupId += 1 }
        #expect(a.control.nextBackupId == start + 1)
        let each = 40
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let handle = i == 0 ? a : b
            for _ in 0..<each {
                try? handle.transact { (c: inout ControlFile) throws(EngineError) in c.nextBackupId += 1 }
            }
        }
        #expect(a.control.nextBackupId == start + 1 + UInt64(2 * each))
        #expect(b.control.nextBackupId == a.control.nextBackupId)
        // What a transaction returns is what its change computed, under the same lock.
        let claimed = try a.transact { (c: inout ControlFile) throws(EngineError) -> UInt64 in
            defer { c.nextBackupId += 1 }
            return c.nextBackupId
        }
        #expect(claimed == start + 1 + UInt64(2 * each))
    }

    @Test func dbidsAreRandom() throws {
        let a = try registered(TempDir("a")), b = try registered(TempDir("b"))
        #expect(a.dbid != b.dbid)
    }

    @Test func everyUpdateRaisesTheUSNOfEveryCopy() throws {
        let dir = TempDir()
        let p = try registered(dir)
        try p.setRetention(.redundancy(2))
        for c in p.control.controlCopies {
            let doc = try CheckedDocument.decode(try FileSystem.readAll(c), kind: "control", maxVersion: 1, file: c)
            #expect(doc.usn == 2)
        }
        // A backup takes its id in one update and records itself in another.
        try p.backup(.quiet())
        for c in p.control.controlCopies {
            let doc = try CheckedDocument.decode(try FileSystem.readAll(c), kind: "control", maxVersion: 1, file: c)
            #expect(doc.usn == 4)
        }
    }

    @Test func staleCopyIsRewrittenWithAWarning() throws {
        let dir = TempDir()
        let p = try registered(dir)
        let copies = p.control.controlCopies
        let old = try FileSystem.readAll(copies[1])
        try p.backup(.quiet())
        try FileSystem.atomicWrite(old, to: copies[1])          // copy 2 goes back to USN 1
        let reopened = try Catalog.open(database: dir.file("app.db"), logger: quietLogger)
        #expect(reopened.control.backups.count == 1)
        #expect(reopened.warnings.contains { $0.contains(copies[1]) && $0.contains("stale") })
        // Opening only reads; the next update (under the control-file lock) rewrites it.
        #expect(try FileSystem.readAll(copies[1]) == old)
        try reopened.setRetention(.redundancy(2))
        #expect(try FileSystem.readAll(copies[1]) == (try FileSystem.readAll(copies[0])))
    }

    @Test func newerStaleCopyWinsOverOlderPrimary() throws {
        let dir = TempDir()
        let p = try registered(dir)
        let copies = p.control.controlCopies
        let old = try FileSystem.readAll(copies[0])
        try p.backup(.quiet())
        try FileSystem.atomicWrite(old, to: copies[0])          // the copy beside the database is stale
        let reopened = try Catalog.open(database: dir.file("app.db"), logger: quietLogger)
        #expect(reopened.control.backups.count == 1)
        #expect(reopened.warnings.count == 1)
    }

    @Test(arguments: [0, 1]) func corruptCopyIsRewrittenWithAWarning(index: Int) throws {
        let dir = TempDir("corrupt\(index)")
        let p = try registered(dir)
        try p.backup(.quiet())
        let path = p.control.controlCopies[index]
        var bytes = try FileSystem.readAll(path)
        bytes[bytes.count / 2] ^= 0x40
        try FileSystem.atomicWrite(bytes, to: path)
        let reopened = try Catalog.open(database: dir.file("app.db"), logger: quietLogger)
        #expect(reopened.control.backups.count == 1)
        #expect(reopened.warnings.contains { $0.contains(path) && $0.contains("checksum") })
        #expect(try FileSystem.readAll(path) == bytes)
        try reopened.setRetention(.redundancy(2))
        _ = try CheckedDocument.decode(try FileSystem.readAll(path), kind: "control", maxVersion: 1, file: path)
    }

    @Test func missingCopyIsRecreated() throws {
        let dir = TempDir()
        let p = try registered(dir)
        let path = p.control.controlCopies[1]
        FileSystem.removeFile(path)
        let reopened = try Catalog.open(database: dir.file("app.db"), logger: quietLogger)
        #expect(reopened.warnings.contains { $0.contains(path) && $0.contains("missing") })
        #expect(!FileSystem.exists(path))
        try reopened.setRetention(.redundancy(2))
        #expect(FileSystem.exists(path))
    }

    @Test func everyCopyBadGivesAClearErrorNamingTheRepository() throws {
        let dir = TempDir()
        let p = try registered(dir)
        for c in p.control.controlCopies {
            try FileSystem.atomicWrite(Array("garbage".utf8), to: c)
        }
        let e = expectCairnError { _ = try Catalog.open(database: dir.file("app.db"), logger: quietLogger) }
        guard case let .controlFileUnusable(copies, _, repo)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(copies.count == 2)
        #expect(repo == dir.file("app.db.cairn"))
        #expect(e!.description.contains("cairn catalog rebuild"))
        #expect(ExitStatus.of(e!) != 0)
    }

    /// Every copy lost: the control file is rebuilt from the repository, and what the
    /// repository holds (backups, archived logs) restores as before.
    @Test func rebuildFromTheRepositoryWhenEveryCopyIsBad() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 500)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        try p.backup(.quiet())
        let hold = WALHold(db)
        Ledger.write(db, 30)
        _ = try p.archiveOnce()
        hold.release()
        let digest = try ContentDigest.compute(db)
        for c in p.control.controlCopies { try FileSystem.atomicWrite(Array("garbage".utf8), to: c) }
        #expect(throws: EngineError.self) { _ = try Catalog.open(database: db, logger: quietLogger) }
        let (rebuilt, report) = try CatalogRebuilder.rebuild(database: db, repository: nil, logger: quietLogger)
        #expect(report.backups == 1 && report.logs == 1 && report.dbid == p.control.dbid)
        #expect(rebuilt.control.redo.gaps.count == 1 && rebuilt.control.redo.gaps[0].scn == 31)
        let reopened = try Catalog.open(database: db, logger: quietLogger)
        #expect(reopened.backups.count == 1)
        let out = dir.file("r.db")
        let r = try reopened.recover(to: out, target: .scn(30))
        #expect(r.scn == 30)
        #expect(try ContentDigest.compute(out) == digest)
        // Damaged copies were kept aside.
        #expect(FileSystem.list(dir.path).contains { $0.contains(".damaged-") })
    }

    @Test func newerFormatVersionIsRefusedByName() throws {
        let dir = TempDir()
        let p = try registered(dir)
        for c in p.control.controlCopies {
            let doc = try CheckedDocument.decode(try FileSystem.readAll(c), kind: "control", maxVersion: 1, file: c)
            try FileSystem.atomicWrite(CheckedDocument(kind: "control", version: 7, usn: doc.usn, body: doc.body).encoded(), to: c)
        }
        let e = expectCairnError { _ = try Catalog.open(database: dir.file("app.db"), logger: quietLogger) }
        #expect(e?.description.contains("format version 7") == true)
    }

    @Test func unregisteredDatabaseSaysToRunInit() throws {
        let dir = TempDir()
        let db = dir.file("x.db")
        Ledger.create(db, filler: 10)
        let e = expectCairnError { _ = try Catalog.open(database: db, logger: quietLogger) }
        guard case .notRegistered? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(e!.description.contains("cairn init"))
    }

    @Test func checkedDocumentDetectsEveryDamage() throws {
        let doc = CheckedDocument(kind: "manifest", version: 1, usn: 9, body: Array(#"{"a":1}"#.utf8))
        let bytes = doc.encoded()
        let back = try CheckedDocument.decode(bytes, kind: "manifest", maxVersion: 1, file: "f")
        #expect(back.body == doc.body && back.usn == 9)
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 0x01
            #expect(throws: EngineError.self) { _ = try CheckedDocument.decode(b, kind: "manifest", maxVersion: 1, file: "f") }
        }
        #expect(throws: EngineError.self) { _ = try CheckedDocument.decode(Array(bytes.dropLast()), kind: "manifest", maxVersion: 1, file: "f") }
        // Found by the fuzzer: a negative or huge length must be an error, not a crash.
        for len in ["-5", "9223372036854775807", "99999999999999999999"] {
            let bad = Array("CAIRN manifest v1 usn=1 len=\(len) xxh3=0000000000000000\n{}".utf8)
            #expect(throws: EngineError.self) { _ = try CheckedDocument.decode(bad, kind: "manifest", maxVersion: 1, file: "f") }
        }
        #expect(throws: EngineError.self) { _ = try CheckedDocument.decode(bytes + [0x20], kind: "manifest", maxVersion: 1, file: "f") }
    }
}
