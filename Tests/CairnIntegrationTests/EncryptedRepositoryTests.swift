@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Client-side encryption of a repository (issue 12): no plaintext of the database in any
/// backup file, the catalog, the page maps or the redo logs; restore with the key, a clear error without
/// it or with another key; rotation re-wraps the keys and leaves the data readable.
@Suite(.serialized) struct EncryptedRepositoryTests {
    /// A key file holding a random key, mode 0600.
    static func keyFile(_ path: String) throws -> String {
        try EncryptionKeyFile.create(path, material: .random())
        return path
    }

    /// Random marker strings, each written in a transaction of its own by a sqlite3 process.
    static func writeMarkers(_ db: String, count: Int) -> [String] {
        let markers = (0..<count).map { _ in "MARKER-" + UUID().uuidString }
        let sql = markers.map { "INSERT INTO transfers(src,dst,amount,note) VALUES(1,2,0,'\($0)');" }.joined(separator: "\n")
        #expect(Shell.run(["sqlite3", "-batch", db], input: "PRAGMA busy_timeout=60000;\n" + sql).status == 0)
        return markers
    }

    /// Every file under `root` (except the directories named in `skipping`) holding one of
    /// `markers`, read byte for byte.
    static func filesHolding(_ markers: [String], under root: String, skipping: [String] = []) throws -> [String] {
        let needles = markers.map { Data($0.utf8) }
        var found: [String] = []
        for rel in try FileManager.default.subpathsOfDirectory(atPath: root).sorted() {
            if skipping.contains(where: { rel == $0 || rel.hasPrefix($0 + "/") }) { continue }
            let path = root + "/" + rel
            guard !FileSystem.isDirectory(path), let data = FileManager.default.contents(atPath: path) else { continue }
            if needles.contains(where: { data.range(of: $0) != nil }) { found.append(rel) }
        }
        return found
    }

    @Test func noPlaintextInTheRepositoryAndRestoreNeedsTheKey() throws {
        let s = try RedoTests.Setup()
        let key = try Self.keyFile(s.dir.file("master.key"))
        try s.p.enableEncryption(keyFile: key)
        // Level 0, changes, level 1, image copy, archived logs and a set of them.
        var markers = Self.writeMarkers(s.db, count: 20)
        _ = try s.p.archiveOnce()
        try s.p.backup(.quiet())
        markers += Self.writeMarkers(s.db, count: 20)
        _ = try s.p.archiveOnce()
        try s.p.backup(.quiet { $0.level = 1 })
        try s.p.backup(.quiet { $0.asCopy = true })
        let set = try s.p.backupArchivedLogs(.quiet())
        #expect(set.backup != nil)
        let digest = try ContentDigest.compute(s.db).digest

        // Everything, the online and archived logs included.
        #expect(!(try FileManager.default.subpathsOfDirectory(atPath: s.p.layout.onlineLogDirectory)).isEmpty)
        #expect(!(try FileManager.default.subpathsOfDirectory(atPath: s.p.layout.archiveDirectory)).isEmpty)
        let leaks = try Self.filesHolding(markers, under: s.p.layout.root)
        #expect(leaks.isEmpty, "plaintext markers found in \(leaks)")
        #expect(try Self.filesHolding(markers, under: s.p.layout.backupsDirectory).isEmpty)

        // From the repository alone: the key is needed, and must be the right one.
        let repo = s.p.layout.root
        let missing = Shell.run([Paths.cairn, "restore", "--repo", repo, "--to", s.dir.file("none.db")],
                                environment: ["CAIRN_ENCRYPTION_KEY_FILE": ""])
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("no encryption key file was given") && missing.stderr.contains(s.p.control.encryption?.masterKeyID ?? "?"))
        #expect(!missing.stderr.contains("Fatal error"))
        let other = try Self.keyFile(s.dir.file("other.key"))
        let wrong = Shell.run([Paths.cairn, "restore", "--repo", repo, "--to", s.dir.file("wrong.db"), "--encryption-key-file", other])
        #expect(wrong.status == 5)
        #expect(wrong.stderr.contains(other) && wrong.stderr.contains(s.p.control.encryption?.masterKeyID ?? "?"))
        #expect(!FileSystem.exists(s.dir.file("wrong.db")))

        let restored = s.dir.file("restored.db")
        let ok = Shell.run([Paths.cairn, "restore", "--repo", repo, "--to", restored, "--encryption-key-file", key])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ContentDigest.compute(restored).digest == digest)

        // Validate reads every backup with the key from the environment.
        let validated = Shell.run([Paths.cairn, "validate", s.db], environment: ["CAIRN_ENCRYPTION_KEY_FILE": key])
        #expect(validated.status == 0, "\(validated.stdout) \(validated.stderr)")
    }

    @Test func rotationRewrapsTheKeysAndKeepsEveryBackupReadable() throws {
        let s = try RedoTests.Setup()
        let key = try Self.keyFile(s.dir.file("old.key"))
        let firstID = try s.p.enableEncryption(keyFile: key)
        let level0 = try s.p.backup(.quiet())
        let pieceBefore = try FileSystem.hashFile(s.p.layout.root + "/" + level0.directory + "/piece-0001.cbp")
        let newKey = try Self.keyFile(s.dir.file("new.key"))
        let newID = try s.p.rotateEncryptionKey(newKeyFile: newKey)
        #expect(newID != firstID)
        #expect(s.p.control.encryption?.masterKeyID == newID.description)
        #expect(try Keyring.read(s.p.layout.keyringFile).masterKeyID == newID)
        // No data file was rewritten.
        #expect(try FileSystem.hashFile(s.p.layout.root + "/" + level0.directory + "/piece-0001.cbp") == pieceBefore)

        let restored = s.dir.file("after-rotation.db")
        let ok = Shell.run([Paths.cairn, "restore", "--repo", s.p.layout.root, "--to", restored, "--encryption-key-file", newKey])
        #expect(ok.status == 0, "\(ok.stderr)")
        let old = Shell.run([Paths.cairn, "restore", "--repo", s.p.layout.root, "--to", s.dir.file("old.db"), "--encryption-key-file", key])
        #expect(old.status == 5)
    }

    @Test func catalogRebuildReadsTheEncryptedCatalogWithTheKey() throws {
        let s = try RedoTests.Setup()
        let key = try Self.keyFile(s.dir.file("master.key"))
        try s.p.enableEncryption(keyFile: key)
        try s.p.backup(.quiet())
        for c in s.p.control.controlCopies { try? FileManager.default.removeItem(atPath: c) }
        let without = Shell.run([Paths.cairn, "catalog", "rebuild", s.db, "--repo", s.p.layout.root], environment: ["CAIRN_ENCRYPTION_KEY_FILE": ""])
        #expect(without.status == 3, "\(without.stdout) \(without.stderr)")
        let rebuilt = Shell.run([Paths.cairn, "catalog", "rebuild", s.db, "--repo", s.p.layout.root, "--encryption-key-file", key])
        #expect(rebuilt.status == 0, "\(rebuilt.stdout) \(rebuilt.stderr)")
        let again = try Catalog.open(database: s.db, logger: quietLogger)
        #expect(again.control.encryption != nil)
        #expect(again.control.backups.count == 1)
    }

    @Test func aKeyFileOthersCanReadIsRefused() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        let key = try Self.keyFile(dir.file("open.key"))
        chmod(key, 0o644)
        let r = Shell.run([Paths.cairn, "init", db, "--encryption-key-file", key])
        #expect(r.status == 64)
        #expect(r.stderr.contains("chmod 600 \(key)"))
        #expect(!FileSystem.exists(db + ".cairn"), "nothing registered")
    }
}
