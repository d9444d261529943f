@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
@testable import CairnObjectStore
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// Remote repositories in object storage (`cairn init --remote s3://BUCKET/PREFIX`) against a
/// real S3 API (moto_server on loopback): a database is protected to the bucket, the machine
/// is lost, and it is restored from the bucket alone; an asynchronous remote catches up after
/// an outage, a synchronous one holds archiving back, an idle database sends nothing.
///
/// These servers do not check signatures: listings under a prefix (which remotes need) carry a
/// '/' in their query, which moto's check gets wrong (see `S3TestServer`); signatures are
/// checked by `S3ArchiveTests` and `S3ClientTests`.
@Suite(.serialized) struct RemoteRepositoryTests {
    static let bucket = S3ArchiveTests.bucket

    /// `cairn ARGS` with `env`; records the failure (and returns its output) when it fails.
    static func cairn(_ env: [String: String], _ args: String..., sourceLocation: SourceLocation = #_sourceLocation) -> Shell.Output {
        cairn(env, args, sourceLocation: sourceLocation)
    }

    static func cairn(_ env: [String: String], _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Shell.Output {
        let r = Shell.run([Paths.cairn] + args, environment: env)
        #expect(r.status == 0, "cairn \(args.joined(separator: " ")): status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        return r
    }

    static func keys(_ client: S3Client, _ prefix: String) async throws -> [String] {
        try await client.list(prefix: prefix).objects.map(\.key).sorted()
    }

    static func status(_ env: [String: String], _ db: String) throws -> Catalog.RedoStatus {
        let r = Shell.run([Paths.cairn, "status", db, "--json"], environment: env)
        try #require(r.status == 0, "\(r.stderr)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Catalog.RedoStatus.self, from: Data(r.stdout.utf8))
    }

    /// Everything of the database on this machine goes: the database, its repository, its
    /// control-file copies and the download cache.
    static func loseMachine(_ db: String, cache: String) throws {
        let p = try Catalog.open(database: db, logger: quietLogger)
        for f in [db, db + "-wal", db + "-shm"] + p.controlCopies { FileSystem.removeFile(f) }
        FileSystem.removeTree(p.layout.root)
        FileSystem.removeTree(cache)
    }

    @Test func aDatabaseProtectedToABucketIsRestoredFromTheBucketAlone() async throws {
        try await S3ArchiveTests.withServer(checkingSignatures: false) { server, client, dir in
            let cache = dir.file("cache")
            let env = S3ArchiveTests.environment(server, cache: cache)
            let db = dir.file("app.db"), url = "s3://\(Self.bucket)/fleet"
            Ledger.create(db, filler: 3000)
            _ = Self.cairn(env, "init", db, "--remote", url)
            _ = Self.cairn(env, "backup", db, "--max-piece-size", "64K")
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid
            let hold = WALHold(db)
            Ledger.write(db, 40, seed: 1)
            _ = Self.cairn(env, "archive", db, "--once")
            let atForty = try ContentDigest.compute(db)
            Ledger.write(db, 40, seed: 2)
            _ = Self.cairn(env, "backup", db, "--level", "1")
            Ledger.write(db, 40, seed: 3)
            _ = Self.cairn(env, "archive", db, "--once")
            hold.release()
            let source = try ContentDigest.compute(db)

            // Everything is in the bucket, under the DBID, and the remote is up to date.
            let stored = try await Self.keys(client, "fleet/\(dbid)/")
            for expected in ["repository.json", "catalog.json", "backups/00000001/manifest.json", "backups/00000002/manifest.json"] {
                #expect(stored.contains("fleet/\(dbid)/" + expected), "\(stored)")
            }
            #expect(stored.filter { $0.hasPrefix("fleet/\(dbid)/backups/00000001/piece-") }.count > 1, "\(stored)")
            let logs = try Catalog.open(database: db, logger: quietLogger).control.redo.logs
            #expect(!logs.isEmpty && logs.allSatisfy { stored.contains("fleet/\(dbid)/archive/" + $0.fileName) }, "\(stored)")
            let status = try Self.status(env, db)
            let lag = try #require(status.remotes.first)
            #expect(lag.logsBehind == 0 && lag.backupsBehind == 0 && lag.catalogCurrent && lag.backupsStored == 2, "\(lag)")
            // Request counts by kind: a PUT per stored object at least, a listing per backup (its recount).
            #expect(status.objectRequests["put", default: 0] >= UInt64(stored.count) && status.objectRequests["list", default: 0] >= 2, "\(status.objectRequests)")
            let space = Self.cairn(env, "report", "space", db)
            #expect(space.stdout.contains("object storage requests: "), "\(space.stdout)")

            // validate reads the remote's copies (downloaded), every byte checked.
            let valid = Self.cairn(env, "validate", db, "--remote", url, "--json")
            #expect(try JSONDecoder().decode([Catalog.ValidationResult].self, from: Data(valid.stdout.utf8)).map(\.ok) == [true, true], "\(valid.stdout)")

            // The machine is lost; a second database shares the prefix.
            try Self.loseMachine(db, cache: cache)
            let listed = Self.cairn(env, "list", "databases", "--repo", url, "--json")
            let found = try JSONDecoder.iso.decode([RemoteRepositoryReader.RemoteDatabase].self, from: Data(listed.stdout.utf8))
            #expect(found.map(\.dbid) == [dbid] && found.first?.backups == 2, "\(listed.stdout)")

            let out = dir.file("restored/latest.db")
            try FileSystem.makeDirectories(dir.file("restored"))
            _ = Self.cairn(env, "restore", "--repo", url, "--to", out)
            #expect(try ContentDigest.compute(out) == source)
            _ = Self.cairn(env, "restore", "--repo", url, "--to", dir.file("restored/forty.db"), "--scn", "40")
            #expect(try ContentDigest.compute(dir.file("restored/forty.db")) == atForty)
            // Nothing staged is left beside the restored files.
            #expect(!FileSystem.list(dir.file("restored")).contains { $0.hasPrefix(".") }, "\(FileSystem.list(dir.file("restored")))")

            let other = dir.file("other.db")
            Ledger.create(other, filler: 100)
            _ = Self.cairn(env, "init", other, "--remote", url)
            let two = Self.cairn(env, "list", "databases", "--repo", url, "--json")
            #expect(try JSONDecoder.iso.decode([RemoteRepositoryReader.RemoteDatabase].self, from: Data(two.stdout.utf8)).count == 2)
            let ambiguous = Shell.run([Paths.cairn, "restore", "--repo", url, "--to", dir.file("restored/which.db")], environment: env)
            #expect(ambiguous.status != 0 && ambiguous.stderr.contains("--dbid") && ambiguous.stderr.contains(dbid), "\(ambiguous.stderr)")
            _ = Self.cairn(env, "restore", "--repo", url, "--dbid", dbid, "--to", dir.file("restored/chosen.db"))
            #expect(try ContentDigest.compute(dir.file("restored/chosen.db")) == source)
        }
    }

    /// Overwrites `count` bytes in the middle of `path` (same size: only a checksum tells).
    static func damage(_ path: String, count: Int = 64) throws {
        let size = try #require(FileSystem.fileSize(path))
        let h = try #require(FileHandle(forUpdatingAtPath: path))
        try h.seek(toOffset: size / 2)
        try h.write(contentsOf: Data(repeating: 0xA5, count: count))
        try h.close()
    }

    @Test func damagedCopiesAreFoundAndTheOtherRepositorysCopyIsUsed() async throws {
        try await S3ArchiveTests.withServer(checkingSignatures: false) { server, client, dir in
            let env = S3ArchiveTests.environment(server, cache: dir.file("cache"))
            let db = dir.file("app.db"), url = "s3://\(Self.bucket)/fallback"
            Ledger.create(db, filler: 3000)
            _ = Self.cairn(env, "init", db, "--remote", url)
            _ = Self.cairn(env, "backup", db, "--max-piece-size", "64K")
            let hold = WALHold(db)
            Ledger.write(db, 40, seed: 1)
            _ = Self.cairn(env, "archive", db, "--once")
            hold.release()
            let source = try ContentDigest.compute(db)
            let p = try Catalog.open(database: db, logger: quietLogger)
            let dbid = p.control.dbid
            let backup = try #require(p.control.backups.first)
            let log = try #require(p.control.redo.logs.first)

            // A damaged piece in the repository and a damaged archived log: the remote's copies are used, and said so.
            try Self.damage(p.layout.root + "/" + backup.directory + "/piece-0001.cbp")
            try Self.damage(p.layout.archiveDirectory + "/" + log.fileName)
            for g in p.control.redo.groups { for m in p.control.redo.memberPaths(group: g.number) { FileSystem.removeFile(m) } }
            let restored = Self.cairn(env, "restore", db, "--to", dir.file("restored.db"))
            #expect(try ContentDigest.compute(dir.file("restored.db")) == source)
            #expect(restored.stderr.contains("taking its copy from the remote") && restored.stderr.contains("looking for another copy"), "\(restored.stderr)")

            // A piece gone from the bucket: crosscheck finds it, and the next pass copies the backup again.
            let piece = "fallback/\(dbid)/\(backup.directory)/piece-0002.cbp"
            try await client.delete(key: piece)
            let checked = Self.cairn(env, "crosscheck", db, "--json")
            let report = try JSONDecoder().decode(CrosscheckReport.self, from: Data(checked.stdout.utf8))
            #expect(report.remoteBackups.map(\.status) == ["MISSING"] && report.remoteBackups.first?.problem?.contains("piece-0002.cbp") == true, "\(report.remoteBackups)")
            #expect(try Self.status(env, db).remotes.first?.backupsBehind == 1)
            // Copied again: the missing piece from the repository; the damaged one in the repository is never sent
            // (the remote keeps its good copy).
            _ = Self.cairn(env, "configure", db, "remote", "sync")
            let again = try JSONDecoder().decode(CrosscheckReport.self, from: Data(Self.cairn(env, "crosscheck", db, "--json").stdout.utf8))
            #expect(again.remoteBackups.map(\.status) == ["AVAILABLE"], "\(again.remoteBackups)")
            #expect(try Self.status(env, db).remotes.first?.backupsBehind == 0)
            let good = try await client.get(key: "fallback/\(dbid)/\(backup.directory)/piece-0001.cbp")
            #expect(Hash.hex(Hash.xxh3(good)) != Hash.hex(try FileSystem.hashFile(p.layout.root + "/" + backup.directory + "/piece-0001.cbp")))

            // A copy damaged in the bucket (other bytes, same size and metadata): validate --remote finds it.
            let info = try #require(try await client.head(key: piece))
            _ = try await client.put(key: piece, bytes: [UInt8](repeating: 0x33, count: Int(info.size)), metadata: info.metadata)
            let bad = Shell.run([Paths.cairn, "validate", db, "--remote", url], environment: env)
            #expect(bad.status == 4 && bad.stdout.contains("FAILED") && bad.stdout.contains("piece-0002.cbp"), "\(bad.stdout) \(bad.stderr)")
        }
    }

    /// Backups and logs deleted from the repository as obsolete go from the remote too; the
    /// backups the policy keeps stay, and the bucket alone still restores the database.
    @Test func obsoleteBackupsAndLogsGoFromTheRemoteToo() async throws {
        try await S3ArchiveTests.withServer(checkingSignatures: false) { server, client, dir in
            let env = S3ArchiveTests.environment(server, cache: dir.file("cache"))
            let db = dir.file("app.db"), url = "s3://\(Self.bucket)/retention"
            Ledger.create(db, filler: 500)
            _ = Self.cairn(env, "init", db, "--remote", url)
            _ = Self.cairn(env, "configure", db, "retention", "redundancy", "1")
            let hold = WALHold(db)
            for round in 1...3 {
                Ledger.write(db, 10, seed: round)
                _ = Self.cairn(env, "archive", db, "--once")
                _ = Self.cairn(env, "backup", db)
            }
            hold.release()
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid
            let before = try await Self.keys(client, "retention/\(dbid)/")
            #expect(before.contains { $0.hasPrefix("retention/\(dbid)/backups/00000001/") })
            _ = Self.cairn(env, "delete", "obsolete", db)
            _ = Self.cairn(env, "configure", db, "remote", "sync")
            let after = try await Self.keys(client, "retention/\(dbid)/")
            let kept = try Catalog.open(database: db, logger: quietLogger).control
            #expect(kept.backups.map(\.id) == [3], "\(kept.backups.map(\.id))")
            #expect(!after.contains { $0.contains("/backups/00000001/") || $0.contains("/backups/00000002/") }, "\(after)")
            #expect(after.contains("retention/\(dbid)/backups/00000003/manifest.json"), "\(after)")
            let logsLeft = after.filter { $0.contains("/archive/log-") }
            #expect(logsLeft.count < before.filter { $0.contains("/archive/log-") }.count, "\(logsLeft)")
            let source = try ContentDigest.compute(db)
            try Self.loseMachine(db, cache: dir.file("cache"))
            _ = Self.cairn(env, "restore", "--repo", url, "--to", dir.file("restored.db"))
            #expect(try ContentDigest.compute(dir.file("restored.db")) == source)
        }
    }

    /// Objects under `prefix` holding one of `markers`, read byte for byte (object keys
    /// containing one of `skipping` are left out).
    static func objectsHolding(_ markers: [String], _ client: S3Client, prefix: String, skipping: [String] = []) async throws -> [String] {
        let needles = markers.map { Data($0.utf8) }
        var found: [String] = []
        for key in try await keys(client, prefix) where !skipping.contains(where: { key.contains($0) }) {
            let data = Data(try await client.get(key: key))
            if needles.contains(where: { data.range(of: $0) != nil }) { found.append(key) }
        }
        return found
    }

    /// The same round trip with client-side encryption: nothing of the database is readable
    /// in the bucket, and the bucket alone restores it with the key (and not without it).
    @Test func anEncryptedDatabaseIsRestoredFromTheBucketAloneWithItsKey() async throws {
        try await S3ArchiveTests.withServer(checkingSignatures: false) { server, client, dir in
            let cache = dir.file("cache")
            let env = S3ArchiveTests.environment(server, cache: cache)
            let db = dir.file("app.db"), url = "s3://\(Self.bucket)/sealed"
            let key = try EncryptedRepositoryTests.keyFile(dir.file("master.key"))
            Ledger.create(db, filler: 2000)
            _ = Self.cairn(env, "init", db, "--remote", url, "--encryption-key-file", key)
            var markers = EncryptedRepositoryTests.writeMarkers(db, count: 10)
            _ = Self.cairn(env, "backup", db)
            let hold = WALHold(db)
            markers += EncryptedRepositoryTests.writeMarkers(db, count: 10)
            _ = Self.cairn(env, "archive", db, "--once")
            let atTwenty = try ContentDigest.compute(db)
            let scnAtTwenty = try Catalog.open(database: db, logger: quietLogger).redoStatus.scn
            markers += EncryptedRepositoryTests.writeMarkers(db, count: 10)
            _ = Self.cairn(env, "backup", db, "--level", "1")
            _ = Self.cairn(env, "archive", db, "--once")
            hold.release()
            let source = try ContentDigest.compute(db)
            let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid

            let stored = try await Self.keys(client, "sealed/\(dbid)/")
            #expect(stored.contains("sealed/\(dbid)/keyring"), "\(stored)")
            #expect(stored.contains { $0.contains("/archive/log-") }, "\(stored)")
            let leaks = try await Self.objectsHolding(markers, client, prefix: "sealed/\(dbid)/")
            #expect(leaks.isEmpty, "plaintext of the database in the bucket: \(leaks)")

            try Self.loseMachine(db, cache: cache)
            let sealed = try JSONDecoder.iso.decode([RemoteRepositoryReader.RemoteDatabase].self,
                                                   from: Data(Self.cairn(env, "list", "databases", "--repo", url, "--json").stdout.utf8))
            #expect(sealed.map(\.dbid) == [dbid] && sealed.first?.encrypted == true && sealed.first?.catalogReadable == false, "\(sealed)")
            let opened = try JSONDecoder.iso.decode([RemoteRepositoryReader.RemoteDatabase].self,
                                                   from: Data(Self.cairn(env, "list", "databases", "--repo", url, "--json", "--encryption-key-file", key).stdout.utf8))
            #expect(opened.first?.catalogReadable == true && opened.first?.backups == 2, "\(opened)")
            let out = dir.file("restored.db")
            let noKey = Shell.run([Paths.cairn, "restore", "--repo", url, "--to", out], environment: env)
            #expect(noKey.status != 0 && !FileSystem.exists(out), "\(noKey.stderr)")
            _ = Self.cairn(env, "restore", "--repo", url, "--to", out, "--encryption-key-file", key)
            #expect(try ContentDigest.compute(out) == source)
            var withVariable = env
            withVariable["CAIRN_ENCRYPTION_KEY_FILE"] = key
            _ = Self.cairn(withVariable, "restore", "--repo", url, "--to", dir.file("past.db"), "--scn", String(scnAtTwenty))
            #expect(try ContentDigest.compute(dir.file("past.db")) == atTwenty)
        }
    }

    /// Crosscheck removes what a killed upload left at a remote a day ago (a backup folder with
    /// pieces but no manifest), and nothing else: a fresh one and one with a manifest stay.
    @Test func crosscheckRemovesWhatAbandonedUploadsLeftAtARemote() throws {
        let dir = TempDir()
        let db = dir.file("app.db"), remote = dir.file("offsite")
        Ledger.create(db, filler: 300)
        _ = Self.cairn([:], "init", db, "--remote", remote)
        _ = Self.cairn([:], "backup", db)
        let dbid = try Catalog.open(database: db, logger: quietLogger).control.dbid
        let backups = remote + "/" + dbid + "/backups"
        func leave(_ folder: String, _ files: [String], old: Bool) throws {
            try FileSystem.makeDirectories(backups + "/" + folder)
            for f in files {
                let path = backups + "/" + folder + "/" + f
                try FileSystem.atomicWrite([1, 2, 3], to: path)
                if old { #expect(Shell.run(["touch", "-d", "2 days ago", path]).status == 0) }
            }
        }
        try leave("00000097", ["piece-0001.cbp", "piece-0002.cbp"], old: true)
        try leave("00000098", ["piece-0001.cbp"], old: false)
        try leave("00000099", ["piece-0001.cbp", BackupManifest.fileName], old: true)
        _ = Self.cairn([:], "crosscheck", db)
        #expect(FileSystem.list(backups + "/00000097").isEmpty)
        #expect(FileSystem.list(backups + "/00000098") == ["piece-0001.cbp"])
        #expect(FileSystem.list(backups + "/00000099").sorted() == [BackupManifest.fileName, "piece-0001.cbp"].sorted())
        #expect(FileSystem.exists(backups + "/00000001/" + BackupManifest.fileName))
    }
}

extension JSONDecoder {
    /// Decodes the ISO 8601 dates `cairn --json` prints.
    static var iso: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
