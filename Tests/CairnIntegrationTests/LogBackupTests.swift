@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Archived-log backups (`cairn backup --archivelog [--delete-input]`): logs moved into
/// backup sets, and recovery, validation and catalog rebuild using them.
@Suite struct LogBackupTests {
    typealias Setup = RedoTests.Setup

    /// A ledger database with a level-0 backup and `count` transactions captured and archived
    /// into several small logs (the statements are returned to compute expected states).
    static func archivedLedger(_ count: Int = 200, seed: Int = 31, dir name: String = #function) throws -> (Setup, [String]) {
        var redo = RedoOptions()
        redo.logSizeBytes = 8 << 10
        redo.groups = 3
        let s = try Setup(name: name, redo: redo)
        try s.p.backup(.quiet())
        let statements = Ledger.transferStatements(count, seed: seed)
        let holder = WALHold(s.db)
        #expect(Shell.run(["sqlite3", "-batch", s.db], input: statements.joined(separator: "\n")).status == 0)
        _ = try s.p.archiveOnce()
        holder.release()
        return (s, statements)
    }

    static func removeOnlineMembers(_ s: Setup) {
        for g in s.p.control.redo.groups {
            for path in s.p.control.redo.memberPaths(group: g.number) { FileSystem.removeFile(path) }
        }
    }

    static func archivedFiles(_ s: Setup) -> [String] {
        FileSystem.list(s.p.layout.archiveDirectory).filter { $0.hasPrefix("log-") }
    }

    /// Temporary logs taken out of sets must all be gone once a recovery ends.
    static func leftovers(_ s: Setup) -> [String] {
        FileSystem.list(s.dir.path).filter { $0.contains(".cairn-log") || $0.contains(".cairn-restore") }
    }

    static func destroy(_ db: String) {
        for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(db + suffix) }
    }

    @Test func logsMoveIntoASetAndRecoveryUsesItTransparently() throws {
        let (s, statements) = try Self.archivedLedger()
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        try #require(logs.count >= 3)
        let source = try ContentDigest.compute(s.db)

        let report = try s.p.backupArchivedLogs(.quiet(), deleteInput: true)
        let set = try #require(report.backup)
        #expect(set.kind == .archivedLogs && set.level == 0 && set.id == 2)
        #expect(set.scn == logs.last!.highScn && set.incarnation == 1)
        #expect(set.logs == logs.map(\.key) && report.logs == logs.map(\.key))
        #expect(set.pieces == logs.count)
        #expect(report.deleted.count == logs.count && report.deleteFailures.isEmpty)
        // Recorded: the set, and each log held by it with its archived copy DELETED.
        let c = s.p.control
        #expect(c.backups.count == 2 && c.nextBackupId == 3)
        for l in c.redo.logs {
            #expect(l.backupSets == [set.id])
            #expect(l.status == .archived)
            #expect(l.destinations.allSatisfy { $0.state == .deleted })
        }
        #expect(Self.archivedFiles(s).isEmpty)
        #expect(FileSystem.list(s.p.layout.archiveDirectory).isEmpty, "no leftovers of the deletion")
        // Each stored log is a standard zstd stream of the log.
        let dir = s.p.layout.root + "/" + set.directory
        let m = try BackupManifest.read(directory: dir)
        #expect(m.kind == .archivedLogs && m.logs?.count == logs.count)
        let first = dir + "/" + ArchivedLogSetReader.storedName(logs[0].key)
        let unpacked = s.dir.file("unpacked.clog")
        #expect(Shell.run(["zstd", "-q", "-d", first, "-o", unpacked]).status == 0)
        #expect(Hash.hex(try FileSystem.hashFile(unpacked)) == logs[0].xxh3)
        // The archiver does not bring deleted copies back, even while a group still holds the log.
        #expect(Archiver(database: s.p, logger: quietLogger).archivePending(force: true) == 0)
        #expect(Self.archivedFiles(s).isEmpty)

        // Only the set holds the logs now. The database is lost.
        Self.removeOnlineMembers(s)
        Self.destroy(s.db)
        let (latest, r) = try s.recovered(.complete, name: "latest.db")
        #expect(r.scn == logs.last!.highScn && r.logsApplied == logs.count)
        #expect(try ContentDigest.compute(latest) == source)
        let middle = logs[1].lowScn + 3
        let (mid, rm) = try s.recovered(.scn(middle), name: "mid.db")
        #expect(rm.scn == middle)
        #expect(try ContentDigest.compute(mid).digest == (try s.expectedDigest(after: Int(middle), of: statements)))
        let (seq, rs) = try s.recovered(.sequence(2), name: "seq.db")
        #expect(rs.scn == logs[1].highScn)
        #expect(Ledger.check(seq).transfers == 2000 + Int(logs[1].highScn))
        let (all, ra) = try s.recovered(.complete, name: "all.db")
        #expect(ra.scn == logs.last!.highScn)
        #expect(try ContentDigest.compute(all) == source)
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
        // Restore into the lost database's own path.
        _ = try s.p.recover(to: s.db, target: .complete)
        #expect(try ContentDigest.compute(s.db) == source)
    }

    @Test func pointInTimeAndInPlaceRecoveryWithLogsOnlyInASet() throws {
        let s = try Setup()
        try s.p.backup(.quiet())
        let first = Ledger.transferStatements(30, seed: 41)
        let holder = WALHold(s.db)
        let capturer = try Capturer(database: s.p, logger: quietLogger)
        func run(_ range: Range<Int>) throws {
            let w = Shell.run(["sqlite3", "-batch", s.db], input: first[range].joined(separator: "\n"))
            #expect(w.status == 0, "\(w.stderr)")
            try capturer.step()
        }
        func pause() -> Date {
            Thread.sleep(forTimeInterval: 0.3)
            defer { Thread.sleep(forTimeInterval: 0.3) }
            return Date()
        }
        try run(0..<10)
        try capturer.switchLog()
        let between = pause() // after log 1, before log 2
        try run(10..<15)
        let inside = pause() // inside log 2
        try run(15..<30)
        try capturer.switchLog()
        try capturer.stop()
        Archiver(database: s.p, logger: quietLogger).archivePending(force: true)
        holder.release()
        #expect(s.p.control.redo.logs.count == 2)
        try s.p.backupArchivedLogs(.quiet(), deleteInput: true)
        #expect(Self.archivedFiles(s).isEmpty)
        Self.removeOnlineMembers(s)

        let (t1, r1) = try s.recovered(.time(between), name: "t1.db")
        #expect(r1.scn == 10)
        #expect(Ledger.check(t1).transfers == 2010)
        // A time inside log 2: the log is read out of the set to find the last commit before it.
        let (t2, r2) = try s.recovered(.time(inside), name: "t2.db")
        #expect(r2.scn == 15)
        #expect(try ContentDigest.compute(t2).digest == (try s.expectedDigest(after: 15, of: first)))
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
        // In place, to a point in the middle of log 2: a new incarnation.
        let r = try s.p.recoverInPlace(target: .scn(17))
        #expect(r.scn == 17)
        #expect(try ContentDigest.compute(s.db).digest == (try s.expectedDigest(after: 17, of: first)))
        #expect(s.p.control.incarnation == 2)
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
    }

    @Test func aDamagedStoredLogIsNamedAndAnotherCopyIsUsed() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 5)
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        try #require(logs.count >= 2)
        let source = try ContentDigest.compute(s.db)
        // Two available sets hold every log: the first is set aside while the second is taken
        // (as a crosscheck would), then found again.
        let a = try #require(try s.p.backupArchivedLogs(.quiet()).backup)
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.backups[c.backups.count - 1].status = .expired }
        let b = try #require(try s.p.backupArchivedLogs(.quiet(), deleteInput: true).backup)
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in
            c.backups[c.backups.firstIndex { $0.id == a.id }!].status = nil
        }
        #expect(b.logs == a.logs && s.p.control.redo.logs.allSatisfy { $0.backupSets == [a.id, b.id] })
        Self.removeOnlineMembers(s)
        Self.destroy(s.db)

        let victim = logs[1]
        let inB = s.p.layout.root + "/" + b.directory + "/" + ArchivedLogSetReader.storedName(victim.key)
        let inA = s.p.layout.root + "/" + a.directory + "/" + ArchivedLogSetReader.storedName(victim.key)
        var bytes = try FileSystem.readAll(inB)
        bytes[bytes.count / 2] ^= 0x20
        try FileSystem.atomicWrite(bytes, to: inB)
        // The newer set's copy is damaged: the locator goes on to the older set.
        let (ok, r) = try s.recovered(.complete, name: "ok.db")
        #expect(r.scn == logs.last!.highScn)
        #expect(try ContentDigest.compute(ok) == source)

        // Both copies damaged (one altered, one cut short): the error names the log and both files.
        let good = try FileSystem.readAll(inA)
        try FileSystem.atomicWrite(Array(good.prefix(good.count - 7)), to: inA)
        let out = s.dir.file("bad.db")
        let e = expectCairnError { _ = try s.p.recover(to: out, target: .scn(logs.last!.highScn)) }
        guard case let .missingLog(seq, inc, looked, reached)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(seq == victim.sequence && inc == 1 && reached == logs[0].highScn)
        #expect(looked.contains { $0.hasPrefix(inB) && $0.contains("damaged") })
        #expect(looked.contains { $0.hasPrefix(inA) })
        #expect(e!.description.contains(inB) && e!.description.contains("Log sequence \(victim.sequence)"))
        #expect(!FileSystem.exists(out))
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
        // An incomplete recovery stops right before the log.
        let partial = try s.p.recover(to: out, target: .scn(logs.last!.highScn), allowIncomplete: true)
        #expect(!partial.complete && partial.scn == logs[0].highScn)
        #expect(Ledger.check(out).total == Ledger.accounts * 1000)
        #expect(Self.leftovers(s).isEmpty)
        // Complete recovery does the same by itself, and says which log stopped it.
        let all = s.dir.file("all.db")
        let c = try s.p.recover(to: all, target: .complete)
        #expect(!c.complete && c.scn == logs[0].highScn && c.shortfall?.cause == .damagedLog)
        #expect(c.shortfall?.reason.contains(inB) == true && c.shortfall?.toScn == logs.last!.highScn)
        #expect(Self.leftovers(s).isEmpty)
    }

    @Test func aDamagedStoredLogIsNotNeededWhileTheArchivedCopyExists() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 6)
        let set = try #require(try s.p.backupArchivedLogs(.quiet()).backup)
        #expect(Self.archivedFiles(s).count == set.logs?.count)
        let stored = s.p.layout.root + "/" + set.directory + "/" + ArchivedLogSetReader.storedName(set.logs![0])
        var bytes = try FileSystem.readAll(stored)
        bytes[bytes.count - 3] ^= 0x01
        try FileSystem.atomicWrite(bytes, to: stored)
        let source = try ContentDigest.compute(s.db)
        Self.destroy(s.db)
        let (out, _) = try s.recovered(.complete, name: "r.db")
        #expect(try ContentDigest.compute(out) == source)
        // Validation reads the set and finds the damage, naming the file and the log.
        let results = try s.p.validate()
        #expect(results.count == 2)
        let bad = try #require(results.first { $0.id == set.id })
        #expect(!bad.ok)
        #expect(bad.error?.contains(stored) == true && bad.error?.contains("log sequence 1") == true, "\(bad.error ?? "")")
        #expect(results.first { $0.id == 1 }?.ok == true)
    }

    @Test func validateChecksEveryStoredLog() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 7)
        let set = try #require(try s.p.backupArchivedLogs(.quiet()).backup)
        #expect(try s.p.validate(backup: set.id).allSatisfy(\.ok))
        let dir = s.p.layout.root + "/" + set.directory
        let keys = set.logs!
        let second = dir + "/" + ArchivedLogSetReader.storedName(keys[1])
        // Cut short, extended, missing: each found and named.
        let original = try FileSystem.readAll(second)
        for (damaged, needle) in [(Array(original.prefix(original.count / 2)), "truncated"), (original + [0], "bytes but the manifest records")] {
            try FileSystem.atomicWrite(damaged, to: second)
            let r = try s.p.validate(backup: set.id)
            #expect(r.count == 1 && !r[0].ok)
            #expect(r[0].error?.contains(second) == true && r[0].error?.contains(needle) == true, "\(r[0].error ?? "")")
        }
        FileSystem.removeFile(second)
        let missing = try s.p.validate(backup: set.id)
        #expect(!missing[0].ok && missing[0].error?.contains(second) == true)
        // A stored file that decompresses to something else than the log (file entry rewritten to match).
        var m = try BackupManifest.read(directory: dir)
        let other = try FileSystem.readAll(dir + "/" + ArchivedLogSetReader.storedName(keys[0]))
        try FileSystem.atomicWrite(other, to: second)
        let i = m.files.firstIndex { $0.name == (second as NSString).lastPathComponent }!
        m.files[i].bytes = UInt64(other.count)
        m.files[i].xxh3 = Hash.hex(Hash.xxh3(other))
        FileSystem.removeFile(dir + "/" + BackupManifest.fileName)
        _ = try m.write(directory: dir)
        let swapped = try s.p.validate(backup: set.id)
        #expect(!swapped[0].ok && swapped[0].error?.contains("log sequence \(keys[1].sequence)") == true, "\(swapped[0].error ?? "")")
    }

    @Test func aSecondRunBacksUpOnlyNewLogsAndDeletesOnlyThose() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 8)
        let a = try #require(try s.p.backupArchivedLogs(.quiet()).backup)
        let firstKeys = try #require(a.logs)
        let again = try s.p.backupArchivedLogs(.quiet())
        #expect(again.backup == nil && again.message.contains("nothing to back up"))
        #expect(s.p.control.backups.count == 2)
        let holder = WALHold(s.db)
        Ledger.write(s.db, 80, seed: 9)
        _ = try s.p.archiveOnce()
        holder.release()
        let before = Self.archivedFiles(s)
        let b = try #require(try s.p.backupArchivedLogs(.quiet(), deleteInput: true).backup)
        let newKeys = try #require(b.logs)
        #expect(!newKeys.isEmpty && Set(newKeys).isDisjoint(with: firstKeys))
        #expect(Set(firstKeys).union(newKeys) == Set(s.p.control.redo.logs.map(\.key)))
        // Only the new logs' archived copies were removed; the first set's logs keep theirs.
        let after = Self.archivedFiles(s)
        #expect(Set(after) == Set(firstKeys.map { LogRecord.fileName(incarnation: $0.incarnation, sequence: $0.sequence) }))
        #expect(before.count == after.count + newKeys.count)
        for l in s.p.control.redo.logs {
            let inFirst = firstKeys.contains(l.key)
            #expect(l.backupSets == [inFirst ? a.id : b.id])
            #expect(l.destinations.allSatisfy { $0.state == (inFirst ? .archived : .deleted) })
        }
        // The online logs are never touched.
        for g in s.p.control.redo.groups where g.sequence != nil {
            #expect(s.p.control.redo.memberPaths(group: g.number).allSatisfy(FileSystem.exists))
        }
        let source = try ContentDigest.compute(s.db)
        Self.destroy(s.db)
        Self.removeOnlineMembers(s)
        let (out, _) = try s.recovered(.complete, name: "r.db")
        #expect(try ContentDigest.compute(out) == source)
    }

    @Test func aSourceCopyIsVerifiedWhileItIsRead() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 10)
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        // The archived copy of the newest log is damaged; its group still holds it online.
        let newest = logs.last!
        let archived = s.p.layout.archiveDirectory + "/" + newest.fileName
        var bytes = try FileSystem.readAll(archived)
        bytes[bytes.count / 2] ^= 0x04
        try FileSystem.atomicWrite(bytes, to: archived)
        let set = try #require(try s.p.backupArchivedLogs(.quiet()).backup)
        #expect(try s.p.validate(backup: set.id).allSatisfy(\.ok))
        // With no good copy anywhere, nothing is backed up or recorded, and nothing is left behind.
        try s.p.transact { (c: inout ControlFile) throws(EngineError) in c.backups.removeAll { $0.id == set.id } }
        FileSystem.removeTree(s.p.layout.root + "/" + set.directory)
        Self.removeOnlineMembers(s)
        let e = expectCairnError { try s.p.backupArchivedLogs(.quiet(), deleteInput: true) }
        guard case let .corrupt(file, _, detail)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(file == archived && detail.contains("log sequence \(newest.sequence)"))
        #expect(s.p.control.backups.count == 1)
        #expect(FileSystem.list(s.p.layout.backupsDirectory) == ["00000001"])
        #expect(Self.archivedFiles(s).count == logs.count, "no copy deleted")
    }

    @Test func catalogRebuildRegistersLogsHeldOnlyBySets() throws {
        let (s, statements) = try Self.archivedLedger(150, seed: 11)
        let logs = s.p.control.redo.logs.sorted { $0.sequence < $1.sequence }
        let set = try #require(try s.p.backupArchivedLogs(.quiet(), deleteInput: true).backup)
        #expect(Self.archivedFiles(s).isEmpty)
        Self.removeOnlineMembers(s)
        let source = try ContentDigest.compute(s.db)
        for copy in s.p.control.controlCopies { FileSystem.removeFile(copy) }
        let (p, report) = try CatalogRebuilder.rebuild(database: s.db, repository: nil, logger: quietLogger)
        #expect(report.backups == 2 && report.logs == logs.count, "\(report)")
        let c = p.control
        let rebuilt = try #require(c.backups.first { $0.id == set.id })
        #expect(rebuilt.kind == .archivedLogs && rebuilt.logs == set.logs && rebuilt.scn == set.scn)
        #expect(c.nextBackupId == set.id + 1)
        #expect(c.redo.logs.map(\.key) == logs.map(\.key))
        for (l, o) in zip(c.redo.logs, logs) {
            #expect(l.backupSets == [set.id] && l.status == .archived && l.destinations.isEmpty)
            #expect(l.lowScn == o.lowScn && l.highScn == o.highScn && l.bytes == o.bytes && l.xxh3 == o.xxh3 && l.records == o.records)
        }
        #expect(c.redo.archivedScn == logs.last!.highScn)
        let out = s.dir.file("r.db")
        let r = try p.recover(to: out, target: .scn(logs.last!.highScn))
        #expect(r.logsApplied == logs.count)
        #expect(try ContentDigest.compute(out) == source)
        let mid = s.dir.file("mid.db")
        _ = try p.recover(to: mid, target: .scn(77))
        #expect(try ContentDigest.compute(mid).digest == (try s.expectedDigest(after: 77, of: statements)))
    }

    @Test func commandLineExitCodesAndJSON() throws {
        let (s, _) = try Self.archivedLedger(120, seed: 12)
        let logs = s.p.control.redo.logs
        func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }
        func json(_ r: Shell.Output) -> Any? { try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) }

        for (args, needle) in [
            (["backup", s.db, "--delete-input"], "--archivelog"),
            (["backup", s.db, "--archivelog", "--as-copy"], "--as-copy"),
            (["backup", s.db, "--archivelog", "--compression", "none"], "--compression"),
        ] {
            let r = Shell.run([Paths.cairn] + args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        #expect(s.p.backups.count == 1)

        let b = cairn("backup", s.db, "--archivelog", "--delete-input", "--tag", "logs", "--json")
        #expect(b.status == 0, "\(b.stderr)")
        let out = try #require(json(b) as? [String: Any])
        let row = try #require(out["backup"] as? [String: Any])
        #expect(row["kind"] as? String == "archivedLogs" && row["logs"] as? Int == logs.count && row["tag"] as? String == "logs")
        #expect(row["id"] as? Int == 2 && row["level"] as? Int == 0)
        #expect((out["logs"] as? [[String: Any]])?.count == logs.count)
        #expect((out["deleted"] as? [String])?.count == logs.count)

        let none = cairn("backup", s.db, "--archivelog")
        #expect(none.status == 0 && none.stdout.contains("nothing to back up"))
        let noneJSON = try #require(json(cairn("backup", s.db, "--archivelog", "--json")) as? [String: Any])
        #expect(noneJSON["backup"] is NSNull)

        let list = try #require(json(cairn("list", "backups", s.db, "--json")) as? [[String: Any]])
        #expect(list.count == 2)
        #expect(list[0]["kind"] as? String == "backupSet" && list[0]["logs"] is NSNull)
        #expect(list[1]["kind"] as? String == "archivedLogs" && list[1]["logs"] as? Int == logs.count)
        for key in ["id", "level", "scn", "pieces", "bytes", "completedAt", "tag"] { #expect(list[1].keys.contains(key), "missing \(key)") }
        #expect(cairn("list", "backups", s.db).stdout.contains("\(logs.count) logs"))
        let logRows = try #require(json(cairn("list", "logs", s.db, "--json")) as? [[String: Any]])
        #expect(logRows.allSatisfy { ($0["backupSets"] as? [Int]) == [2] })

        // Status and everything that picks "the latest backup" mean database backups only.
        let st = try #require(json(cairn("status", s.db, "--json")) as? [String: Any])
        #expect(st["lastBackupId"] as? Int == 1 && st["backups"] as? Int == 2)
        #expect(cairn("restore", s.db, "--validate").status == 0)
        let wrong = cairn("restore", s.db, "--to", s.dir.file("x.db"), "--backup", "2")
        #expect(wrong.status == 64 && wrong.stderr.contains("archived-log backup set"), "\(wrong.stderr)")
        let wrongScn = cairn("restore", s.db, "--to", s.dir.file("x.db"), "--backup", "2", "--scn", "5")
        #expect(wrongScn.status == 64 && wrongScn.stderr.contains("archived-log backup set"), "\(wrongScn.stderr)")
        #expect(cairn("restore", s.db, "--validate", "--backup", "2").status == 64)

        let v = cairn("validate", s.db, "--backup", "2", "--json")
        #expect(v.status == 0)
        #expect((json(v) as? [[String: Any]])?.first?["ok"] as? Bool == true)

        Self.removeOnlineMembers(s)
        let source = try ContentDigest.compute(s.db)
        Self.destroy(s.db)
        let restored = s.dir.file("restored.db")
        let r = cairn("restore", s.db, "--to", restored, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect((json(r) as? [String: Any])?["logsApplied"] as? Int == logs.count)
        #expect(try ContentDigest.compute(restored) == source)

        // A damaged stored log: validate and restore fail with exit code 4 / 3, naming it.
        let stored = s.p.layout.root + "/backups/00000002/" + ArchivedLogSetReader.storedName(logs.sorted { $0.sequence < $1.sequence }[0].key)
        var bytes = try FileSystem.readAll(stored)
        bytes[bytes.count / 2] ^= 0x10
        try FileSystem.atomicWrite(bytes, to: stored)
        let bad = cairn("validate", s.db, "--backup", "2")
        #expect(bad.status == 4 && bad.stdout.contains(stored), "\(bad.stdout)")
        let newest = String(logs.map(\.highScn).max()!)
        let failed = cairn("restore", s.db, "--to", s.dir.file("bad.db"), "--scn", newest)
        #expect(failed.status == 3 && failed.stderr.contains(stored), "\(failed.stderr)")
        #expect(!FileSystem.exists(s.dir.file("bad.db")))
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
        // Without a target: as far as recovery reaches (the backup), saying what was left out and why.
        let short = cairn("restore", s.db, "--to", s.dir.file("short.db"))
        #expect(short.status == 0 && short.stdout.contains("INCOMPLETE") && short.stdout.contains(stored), "\(short.stdout)")
        #expect(Self.leftovers(s).isEmpty, "\(Self.leftovers(s))")
    }
}
