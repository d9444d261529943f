@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
@testable import CairnCLI
import CairnTestSupport
import Foundation
import Testing

/// Encrypted redo logs (issue 12): with encryption on, online and archived logs are version 3
/// and their transactions' bodies sealed (`RedoLogEncryption`); recovery through them reaches
/// every SCN with the key, says which key it needs without it, and refuses a damaged unit.
@Suite(.serialized) struct EncryptedRedoLogTests {
    /// A transaction of about a megabyte of varied text: its body takes several sealed units.
    static let bigTransaction = """
        INSERT INTO transfers(src,dst,amount,note) SELECT 3,4,5,group_concat(printf('%d-%x', (i * 2654435761) % 4294967291, (i * 40503) % 65521), ',')
        FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60000) SELECT i FROM c);
        """

    /// A repository with encryption on, a level 0 backup, then `statements` captured and archived.
    static func encryptedSetup(_ statements: [String]) throws -> (RedoTests.Setup, key: String) {
        let s = try RedoTests.Setup()
        let key = try EncryptedRepositoryTests.keyFile(s.dir.file("master.key"))
        try s.p.enableEncryption(keyFile: key)
        try s.p.backup(.quiet())
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        _ = try s.p.archiveOnce()
        holder.release()
        return (s, key)
    }

    /// Every redo log file under the repository's `online` and `archive` directories.
    static func logFiles(_ s: RedoTests.Setup) -> [String] {
        [s.p.layout.onlineLogDirectory, s.p.layout.archiveDirectory].flatMap { dir in
            ((try? FileManager.default.subpathsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }
                .filter { !FileSystem.isDirectory($0) && (try? RedoLogReader(path: $0)) != nil }
        }
    }

    @Test func recoveryThroughEncryptedLogsReachesEachSCN() throws {
        var statements = Ledger.transferStatements(60, seed: 12)
        statements.insert(Self.bigTransaction, at: 30)
        let (s, _) = try Self.encryptedSetup(statements)
        let archived = try #require(s.p.control.redo.logs.last)
        #expect(archived.status == .archived && archived.highScn == UInt64(statements.count))
        let logs = Self.logFiles(s)
        #expect(!logs.isEmpty)
        var largest: UInt64 = 0
        for path in logs {
            let reader = try RedoLogReader(path: path)
            #expect(reader.header.version == RedoLogFormat.encryptedVersion && reader.header.encryption != nil, "\(path)")
            while let r = try reader.next(strict: false) { largest = max(largest, r.bodyBytes) }
        }
        #expect(largest > UInt64(RedoLogEncryption.defaultUnitSize + RedoLogEncryption.unitOverhead), "a record of several units")
        for n in [0, 1, 30, 31, 45, statements.count] {
            let (out, r) = try s.recovered(.scn(UInt64(n)), name: "scn\(n).db")
            #expect(r.scn == UInt64(n))
            #expect(try ContentDigest.compute(out).digest == (try s.expectedDigest(after: n, of: statements)), "SCN \(n)")
        }
        let (latest, _) = try s.recovered(.complete, name: "latest.db")
        #expect(try ContentDigest.compute(latest) == (try ContentDigest.compute(s.db)))
    }

    @Test func withoutTheKeyThePagesOfAnEncryptedLogAreNotReadable() throws {
        let (s, _) = try Self.encryptedSetup(Ledger.transferStatements(20, seed: 5))
        let path = try #require(Self.logFiles(s).first)
        let keyID = try #require(s.p.control.encryption?.masterKeyID)
        // The structure (headers, checksums, trailer) is checked without the key...
        let plain = try RedoLogReader(path: path, registry: KeyringRegistry())
        #expect(try plain.readAll(strict: false).count > 0)
        // ...but the pages need it: the error names the log and the master key.
        let reader = try RedoLogReader(path: path, registry: KeyringRegistry())
        do {
            _ = try reader.next(strict: false, pages: { (_: RedoRecord, _: RedoLogReader.Page) throws(EngineError) in })
            Issue.record("pages read without the key")
        } catch {
            guard case let .encryptionKeyRequired(file, master) = error else { Issue.record("\(error)"); return }
            #expect(file == path && master == keyID)
            #expect(ExitStatus.of(error) == 3)
            #expect(error.description.contains(path))
        }
    }

    @Test func aFlippedByteInASealedUnitIsDetectedAndNotApplied() throws {
        let (s, _) = try Self.encryptedSetup(Ledger.transferStatements(20, seed: 9))
        let source = try #require(Self.logFiles(s).first { $0.hasPrefix(s.p.layout.archiveDirectory) })
        var bytes = try FileSystem.readAll(source)
        let first = RedoLogFormat.maxHeaderSize
        let hsize = RedoLogFormat.compactRecordHeaderSize
        let record = try #require(bytes.withUnsafeBytes { RedoRecord.decodeHeader($0.baseAddress! + first) })
        #expect(record.compact && record.bodyBytes > UInt64(RedoLogEncryption.unitOverhead))
        // A byte of the ciphertext flipped, and the record's checksum made to match again, so
        // only the authentication tag can tell.
        bytes[first + hsize + RedoLogEncryption.nonceSize + 3] ^= 0x40
        bytes.withUnsafeMutableBytes { b in
            let p = b.baseAddress! + first
            let bodyHash = Hash.xxh3(p + hsize, Int(record.bodyBytes))
            LE.put64(RedoRecord.checksum(header: p, size: hsize, bodyHash: bodyHash), p, hsize - 8)
        }
        let damaged = s.dir.file("damaged.log")
        try FileSystem.atomicWrite(bytes, to: damaged)
        var applied = 0
        let reader = try RedoLogReader(path: damaged)
        do {
            _ = try reader.next(strict: true, pages: { (_: RedoRecord, _: RedoLogReader.Page) throws(EngineError) in applied += 1 })
            Issue.record("a damaged unit was read")
        } catch {
            guard case let .corrupt(file, _, detail) = error else { Issue.record("\(error)"); return }
            #expect(file == damaged && detail.contains("fails authentication"))
        }
        #expect(applied == 0)
        // Left as it is, the record checksum catches a flipped byte first.
        var raw = try FileSystem.readAll(source)
        raw[first + hsize + 20] ^= 1
        let flipped = s.dir.file("flipped.log")
        try FileSystem.atomicWrite(raw, to: flipped)
        #expect(throws: EngineError.self) { try RedoLogReader(path: flipped).readAll(strict: true) }
    }

    @Test func aUnitMovedToAnotherRecordFailsAuthentication() throws {
        let (s, _) = try Self.encryptedSetup(Ledger.transferStatements(20, seed: 10))
        let source = try #require(Self.logFiles(s).first { $0.hasPrefix(s.p.layout.archiveDirectory) })
        let reader = try RedoLogReader(path: source)
        let header = reader.header
        let cipher = try #require(try RedoLogCipher.forLog(header, file: source))
        var bytes = try FileSystem.readAll(source)
        let at = header.size, hsize = RedoLogFormat.compactRecordHeaderSize
        let r = try #require(bytes.withUnsafeBytes { RedoRecord.decodeHeader($0.baseAddress! + at) })
        let count = Int(r.bodyBytes)
        let out = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
        defer { out.deallocate() }
        try bytes.withUnsafeMutableBytes { b throws in
            let p = b.baseAddress! + at
            let h = UnsafeRawBufferPointer(start: p, count: hsize - 8)
            // Where it is: opens. Claimed at another offset (moved): refused.
            #expect(throws: Never.self) { try cipher.openBody(p + hsize, count: count, offset: UInt64(at), recordHeader: h, into: out, file: source) }
            #expect(throws: EngineError.self) { try cipher.openBody(p + hsize, count: count, offset: UInt64(at + 8), recordHeader: h, into: out, file: source) }
            // With another SCN in its header: refused.
            LE.put64(r.scn + 1, p, 8)
            #expect(throws: EngineError.self) { try cipher.openBody(p + hsize, count: count, offset: UInt64(at), recordHeader: h, into: out, file: source) }
        }
    }
}
