import Foundation
import Testing
import CairnFormats
import CairnCatalog
import CairnEngines
import CairnTestSupport

/// `cairn snapshot`: self-contained snapshot files made while capture runs in another process
/// and another process writes, restored anywhere; a newer release's snapshot refused; tampered,
/// truncated and encrypted files handled with clear errors and nothing left behind.
@Suite(.serialized) struct SnapshotTests {
    static func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }
    static func cairn(_ args: [String]) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    static func json(_ text: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:]
    }

    static func digest(_ path: String) -> String {
        (json(cairn("digest", path, "--json").stdout)["digest"] as? String) ?? "none"
    }

    /// Rewrites a snapshot file's header through `change` (its checksum made to match).
    static func rewriteHeader(_ path: String, _ change: (inout SnapshotHeader) -> Void) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        var header = try SnapshotHeader.decode([UInt8](handle.readData(ofLength: SnapshotHeader.size)), file: path)
        change(&header)
        try handle.seek(toOffset: 0)
        handle.write(Data(try header.encoded()))
    }

    /// Nothing but `expected` in `dir` (no temporary or half-written file left).
    static func onlyFiles(_ dir: String, _ expected: Set<String>) -> Bool {
        Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).subtracting(expected).isEmpty
    }

    @Test func snapshotsAtPointsRestoreAnywhereAndEqualRestores() throws {
        let h = try CaptureHarness(count: 60)
        let follow = h.startFollow()
        defer { _ = h.stop(follow) }
        #expect(Await.capture(of: h.db))
        #expect(Self.cairn("backup", h.db).status == 0)
        _ = h.write(h.script(0..<30))
        #expect(h.waitCaptured(30), "\(h.followLog)")
        #expect(Self.cairn("restore-point", h.db, "create", "quarter-close").status == 0)
        _ = h.write(h.script(30..<60))
        #expect(h.waitCaptured(60), "\(h.followLog)")

        let now = Self.cairn("snapshot", "create", h.db, "--name", "go-live", "--json")
        #expect(now.status == 0, "\(now.stderr)")
        #expect(Self.json(now.stdout)["scn"] as? Int == 60, "\(now.stdout)")
        let past = Self.cairn("snapshot", "create", h.db, "--name", "at-30", "--scn", "30")
        #expect(past.status == 0, "\(past.stderr)")
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "quarter", "--restore-point", "quarter-close").status == 0)
        let again = Self.cairn("snapshot", "create", h.db, "--name", "go-live")
        #expect(again.status != 0 && again.stderr.contains("exists already"), "\(again.stderr)")

        let listed = Self.cairn("snapshot", "list", h.db, "--json")
        let rows = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))) as? [[String: Any]] ?? []
        #expect(Set(rows.compactMap { $0["name"] as? String }) == ["go-live", "at-30", "quarter"], "\(listed.stdout)")

        // The header is text a person reads, naming format, release, DBID, SCN and time.
        let file = h.db + ".cairn/snapshots/at-30.csnap"
        let head = String(decoding: try #require(FileManager.default.contents(atPath: file)).prefix(512), as: UTF8.self)
        for line in ["Cairn snapshot", "format: 1", "release: \(FormatVersion.release)", "scn: 30", "dbid: ", "time: 20"] {
            #expect(head.contains(line), "\(head)")
        }
        #expect((FileMode.of(file: file)?.bits ?? 0o777) & ~(FileMode.of(file: h.db)?.bits ?? 0) == 0, "no more readable than the database")

        // Restored anywhere: each equals a restore to its SCN.
        let out = TempDir()
        for (name, scn) in [("at-30", "30"), ("quarter", "30"), ("go-live", "60")] {
            let exported = out.file(name + ".csnap")
            let e = Self.cairn("snapshot", "export", h.db, name, "--to", exported)
            #expect(e.status == 0, "\(e.stderr)")
            #expect(Self.cairn("snapshot", "verify", exported).status == 0)
            let restored = out.file(name + ".db"), expected = out.file(name + "-restore.db")
            // SQLite's integrity_check on request (once), Cairn's checksums always.
            let check = name == "go-live"
            let r = Self.cairn(["snapshot", "restore", exported, "--to", restored, "--json"] + (check ? ["--integrity-check"] : []))
            #expect(r.status == 0, "\(r.stderr)")
            #expect(Self.json(r.stdout)["integrityChecked"] as? Bool == check, "\(r.stdout)")
            #expect(Self.cairn("restore", h.db, "--scn", scn, "--to", expected).status == 0)
            #expect(Self.digest(restored) == Self.digest(expected), "snapshot \(name)")
        }
        let exists = Self.cairn("snapshot", "restore", out.file("at-30.csnap"), "--to", out.file("at-30.db"))
        #expect(exists.status != 0 && exists.stderr.contains("--force"), "\(exists.stderr)")
        // In place: the live database goes back to the snapshot; a new incarnation begins there.
        #expect(h.stop(follow) == 0, "\(h.followLog)")
        let foreign = Self.cairn("snapshot", "restore", out.file("at-30.csnap"), "--in-place", out.file("at-30.db"))
        #expect(foreign.status != 0, "\(foreign.stderr)")
        // (In this process: the harness's catalog keeps the database open, so the CLI would refuse.)
        let inPlace = try h.p.restoreSnapshotInPlace(out.file("at-30.csnap"))
        #expect(inPlace.scn == 30)
        #expect(Self.digest(h.db) == Self.digest(out.file("at-30-restore.db")))
        let status = Self.json(Self.cairn("status", h.db, "--json").stdout)
        #expect(status["incarnation"] as? Int == 2, "\(status)")
        let again2 = h.startFollow()
        #expect(Await.capture(of: h.db))
        _ = h.write(h.script(30..<35))
        #expect(h.waitCaptured(65), "\(h.followLog)")
        #expect(h.stop(again2) == 0, "\(h.followLog)")
        let after = out.file("after.db")
        #expect(Self.cairn("restore", h.db, "--to", after).status == 0)
        #expect(Self.digest(after) == Self.digest(h.db), "capture goes on after the in-place restore")
        #expect(Self.cairn("snapshot", "drop", h.db, "at-30").status == 0)
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test func aNewerReleasesSnapshotIsRefusedAnOlderOnesRead() throws {
        let h = try CaptureHarness(count: 5)
        #expect(Self.cairn("backup", h.db).status == 0)
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "s").status == 0)
        let file = h.db + ".cairn/snapshots/s.csnap"
        let out = TempDir()
        let future = out.file("future.csnap"), older = out.file("older.csnap")
        try FileManager.default.copyItem(atPath: file, toPath: future)
        try FileManager.default.copyItem(atPath: file, toPath: older)
        try Self.rewriteHeader(future) { $0.release = "99.2.3" }
        try Self.rewriteHeader(older) { $0.release = "0.0.9" }
        for args in [["snapshot", "verify", future], ["snapshot", "restore", future, "--to", out.file("f.db")]] {
            let r = Shell.run([Paths.cairn] + args)
            #expect(r.status == 4, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("Cairn 99.2.3") && r.stderr.contains("this Cairn \(FormatVersion.release)") && r.stderr.contains("Use Cairn 99.2.3 or newer"), "\(r.stderr)")
        }
        // A newer format is refused before its checksum is looked at (it may be computed otherwise).
        let format = out.file("format.csnap")
        try FileManager.default.copyItem(atPath: file, toPath: format)
        var bytes = try #require(FileManager.default.contents(atPath: format))
        let text = String(decoding: bytes.prefix(512), as: UTF8.self).replacingOccurrences(of: "format: 1\n", with: "format: 7\n")
        bytes.replaceSubrange(0..<512, with: Data(text.utf8))
        try bytes.write(to: URL(fileURLWithPath: format))
        let f = Self.cairn("snapshot", "verify", format)
        #expect(f.status == 4 && f.stderr.contains("format 7"), "\(f.stderr)")
        #expect(Self.onlyFiles(out.path, ["future.csnap", "older.csnap", "format.csnap"]))
        let r = Self.cairn("snapshot", "restore", older, "--to", out.file("older.db"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.digest(out.file("older.db")) == Self.digest(h.db))
    }

    @Test func tamperedTruncatedOrForeignFilesFailClearlyAndLeaveNothing() throws {
        let h = try CaptureHarness(count: 5, filler: 3000)
        #expect(Self.cairn("backup", h.db).status == 0)
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "s").status == 0)
        let file = h.db + ".cairn/snapshots/s.csnap"
        let original = try #require(FileManager.default.contents(atPath: file))
        let out = TempDir()
        func attempt(_ name: String, _ bytes: Data, expect text: String) throws {
            let path = out.file(name)
            try bytes.write(to: URL(fileURLWithPath: path))
            let v = Self.cairn("snapshot", "verify", path)
            #expect(v.status != 0 && v.stderr.contains(text), "\(name): \(v.stderr)")
            let r = Self.cairn("snapshot", "restore", path, "--to", out.file("r.db"))
            #expect(r.status != 0 && r.stderr.contains(text), "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.file("r.db")))
            #expect(Self.onlyFiles(out.path, [name]), "\(name): leftovers \((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [])")
            try FileManager.default.removeItem(atPath: path)
        }
        var page = original
        page[page.count / 2] ^= 0x40
        try attempt("flipped.csnap", page, expect: "corrupt")
        var header = original
        header[40] ^= 0x01
        try attempt("header.csnap", header, expect: "changed or damaged")
        try attempt("cut.csnap", original.prefix(original.count - 1000), expect: "truncated")
        try attempt("short.csnap", original.prefix(100), expect: "truncated")
        try attempt("other.csnap", Data(repeating: 0x41, count: 4096), expect: "not a Cairn snapshot")
        let missing = Self.cairn("snapshot", "verify", out.file("none.csnap"))
        #expect(missing.status != 0 && missing.stderr.contains("none.csnap"), "\(missing.stderr)")
        let unknown = Self.cairn("snapshot", "export", h.db, "nope", "--to", out.file("x.csnap"))
        #expect(unknown.status != 0 && unknown.stderr.contains("No snapshot named nope") && unknown.stderr.contains("s"), "\(unknown.stderr)")
    }

    @Test func anEncryptedRepositorysSnapshotNeedsItsKey() throws {
        let h = try CaptureHarness(count: 5)
        let key = try EncryptedRepositoryTests.keyFile(h.dir.file("master.key"))
        let other = try EncryptedRepositoryTests.keyFile(h.dir.file("other.key"))
        try h.p.enableEncryption(keyFile: key)
        let markers = EncryptedRepositoryTests.writeMarkers(h.db, count: 5)
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "sealed").status == 0)
        let file = h.db + ".cairn/snapshots/sealed.csnap"
        let out = TempDir()
        let exported = out.file("sealed.csnap")
        #expect(Self.cairn("snapshot", "export", h.db, "sealed", "--to", exported).status == 0)
        #expect(try EncryptedRepositoryTests.filesHolding(markers, under: out.path).isEmpty, "no plaintext in the snapshot")
        let head = String(decoding: try #require(FileManager.default.contents(atPath: file)).prefix(512), as: UTF8.self)
        #expect(head.contains("encryption: AES-256-GCM"), "\(head)")
        let none = Shell.run([Paths.cairn, "snapshot", "restore", exported, "--to", out.file("a.db")], environment: ["CAIRN_ENCRYPTION_KEY_FILE": ""])
        #expect(none.status != 0 && none.stderr.contains("key"), "\(none.stderr)")
        let wrong = Self.cairn("snapshot", "restore", exported, "--to", out.file("b.db"), "--encryption-key-file", other)
        #expect(wrong.status != 0, "\(wrong.stderr)")
        #expect(Self.onlyFiles(out.path, ["sealed.csnap"]))
        let ok = Self.cairn("snapshot", "restore", exported, "--to", out.file("c.db"), "--encryption-key-file", key)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(Self.digest(out.file("c.db")) == Self.digest(h.db))
    }

    static func names(_ db: String) -> [String] {
        let listed = cairn("snapshot", "list", db, "--json")
        let rows = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))) as? [[String: Any]] ?? []
        return rows.compactMap { $0["name"] as? String }.sorted()
    }

    @Test func theDailySnapshotReplacesThePreviousAutomaticOneAndTheAgentTakesIt() async throws {
        let h = try CaptureHarness(count: 5)
        #expect(Self.cairn("backup", h.db).status == 0)
        let off = Self.cairn("snapshot", "run-due", h.db)
        #expect(off.status != 0 && off.stderr.contains("snapshot daily"), "\(off.stderr)")
        let bad = Self.cairn("configure", h.db, "snapshot", "daily", "--at", "25:00")
        #expect(bad.status != 0 && bad.stderr.contains("HH:MM"), "\(bad.stderr)")
        #expect(Self.cairn("configure", h.db, "snapshot", "daily", "--at", "02:00", "--keep", "1").status == 0)
        let shown = Self.json(Self.cairn("configure", h.db, "show", "--json").stdout)
        #expect((shown["dailySnapshot"] as? [String: Any])?["at"] as? String == "02:00", "\(shown)")
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "go-live").status == 0)

        // Day 1 after 02:00 local time: made; again the same day: nothing due.
        let calendar = Calendar.current
        let day1 = try #require(calendar.date(from: DateComponents(year: 2031, month: 3, day: 10, hour: 3)))
        let first = Self.cairn("snapshot", "run-due", h.db, "--now", ISO8601DateFormatter().string(from: day1), "--json")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Self.names(h.db) == ["daily-20310310", "go-live"])
        let same = Self.cairn("snapshot", "run-due", h.db, "--now", ISO8601DateFormatter().string(from: day1.addingTimeInterval(3600)), "--json")
        #expect(same.status == 0 && Self.json(same.stdout)["made"] == nil, "\(same.stdout)")
        // Day 2 before 02:00 is still day 1's slot; after it, day 2's replaces day 1's; named ones stay.
        let early = try #require(calendar.date(from: DateComponents(year: 2031, month: 3, day: 11, hour: 1)))
        _ = Self.cairn("snapshot", "run-due", h.db, "--now", ISO8601DateFormatter().string(from: early))
        #expect(Self.names(h.db) == ["daily-20310310", "go-live"])
        let day2 = try #require(calendar.date(from: DateComponents(year: 2031, month: 3, day: 11, hour: 2, minute: 30)))
        let second = Self.cairn("snapshot", "run-due", h.db, "--now", ISO8601DateFormatter().string(from: day2), "--json")
        #expect((Self.json(second.stdout)["dropped"] as? [String]) == ["daily-20310310"], "\(second.stdout)")
        #expect(Self.names(h.db) == ["daily-20310311", "go-live"])
        let space = Self.json(Self.cairn("report", "space", h.db, "--json").stdout)
        #expect(((space["categories"] as? [String: Any])?["snapshots"] as? Int ?? 0) > 0 || Self.cairn("report", "space", h.db).stdout.contains("snapshots"), "\(space)")

        // The agent takes today's when due (configured for a time already past today).
        #expect(Self.cairn("configure", h.db, "snapshot", "daily", "--at", "00:00", "--keep", "2").status == 0)
        let today = DailySnapshot.name(for: try DailySnapshot(at: "00:00").slot(before: Date()))
        let port = AgentHTTP.freePort()
        let config = h.dir.file("cairn.yml")
        try "http: {listen: 127.0.0.1:\(port)}\ndatabases:\n  - path: \(h.db)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let log = h.dir.file("agent.log")
        let agent = AgentHTTP.start(config: config, log: log)
        let taken = await Await.eventually(120) { FileManager.default.fileExists(atPath: h.db + ".cairn/snapshots/\(today).csnap") }
        #expect(taken, "\(AgentHTTP.tail(log))")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        #expect(Self.names(h.db).contains(today) && Self.names(h.db).contains("daily-20310311"), "keep 2: \(Self.names(h.db))")
    }

    /// Retention and the recovery area know automatic snapshots: those beyond `keep` (after
    /// `--keep` was lowered) are obsolete, `delete obsolete` removes them, and the recovery area
    /// deletes them to make room; named snapshots (even one named like `daily-…`) never go.
    @Test func automaticSnapshotsBeyondKeepAreObsoleteAndMakeRoom() throws {
        let h = try CaptureHarness(count: 5)  // one level-0 backup: nothing else is obsolete
        #expect(Self.cairn("configure", h.db, "snapshot", "daily", "--at", "02:00", "--keep", "3").status == 0)
        #expect(Self.cairn("snapshot", "create", h.db, "--name", "daily-go-live").status == 0)
        let calendar = Calendar.current
        for day in 10...12 {
            let now = try #require(calendar.date(from: DateComponents(year: 2031, month: 3, day: day, hour: 3)))
            let r = Self.cairn("snapshot", "run-due", h.db, "--now", ISO8601DateFormatter().string(from: now))
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(Self.names(h.db) == ["daily-20310310", "daily-20310311", "daily-20310312", "daily-go-live"])
        let none = Self.json(Self.cairn("report", "obsolete", h.db, "--json").stdout)
        #expect((none["snapshots"] as? [Any])?.isEmpty == true && (none["backups"] as? [Any])?.isEmpty == true
                && (none["logs"] as? [Any])?.isEmpty == true, "\(none)")

        #expect(Self.cairn("configure", h.db, "snapshot", "daily", "--at", "02:00", "--keep", "1").status == 0)
        let report = Self.cairn("report", "obsolete", h.db, "--json")
        let listed = (Self.json(report.stdout)["snapshots"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(listed == ["daily-20310310", "daily-20310311"], "\(report.stdout)")
        #expect(Self.cairn("report", "obsolete", h.db).stdout.contains("snapshot daily-20310310"))

        // The recovery area, short of room for the next snapshot, deletes the oldest obsolete one.
        let space = Self.json(Self.cairn("report", "space", h.db, "--json").stdout)
        let used = try #require(space["used"] as? Int)
        let reclaimable = try #require(space["reclaimable"] as? Int)
        let snapshot = try #require(FileManager.default.attributesOfItem(atPath: h.db + ".cairn/snapshots/daily-20310312.csnap")[.size] as? Int)
        #expect(reclaimable >= 2 * snapshot, "\(space)")
        #expect(Self.cairn("configure", h.db, "recovery-area-size", String(used + snapshot / 2)).status == 0)
        let made = Self.cairn("snapshot", "create", h.db, "--name", "quarter-close")
        #expect(made.status == 0, "\(made.stderr)")
        #expect(Self.names(h.db) == ["daily-20310311", "daily-20310312", "daily-go-live", "quarter-close"])

        #expect(Self.cairn("configure", h.db, "recovery-area-size", "unlimited").status == 0)
        let deleted = Self.cairn("delete", "obsolete", h.db, "--json")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect((Self.json(deleted.stdout)["snapshots"] as? [String]) == ["daily-20310311"], "\(deleted.stdout)")
        #expect(Self.names(h.db) == ["daily-20310312", "daily-go-live", "quarter-close"])
        // With the daily snapshot off, the automatic ones left are kept until dropped.
        #expect(Self.cairn("configure", h.db, "snapshot", "off").status == 0)
        #expect((Self.json(Self.cairn("report", "obsolete", h.db, "--json").stdout)["snapshots"] as? [Any])?.isEmpty == true)
    }

    @Test func exportedToObjectStorageAndRestoredFromIt() async throws {
        try await S3ArchiveTests.withServer { server, _, dir in
            let h = try CaptureHarness(count: 5)
            let env = S3ArchiveTests.environment(server, cache: dir.file("cache"))
            let cairn: ([String]) -> Shell.Output = { Shell.run([Paths.cairn] + $0, environment: env) }
            #expect(cairn(["snapshot", "create", h.db, "--name", "q4"]).status == 0)
            let prefix = "s3://\(S3ArchiveTests.bucket)/snapshots"
            let e = cairn(["snapshot", "export", h.db, "q4", "--to", prefix, "--json"])
            #expect(e.status == 0, "\(e.stderr)")
            #expect(Self.json(e.stdout)["path"] as? String == prefix + "/q4.csnap", "\(e.stdout)")
            let again = cairn(["snapshot", "export", h.db, "q4", "--to", prefix])
            #expect(again.status != 0 && again.stderr.contains("--force"), "\(again.stderr)")
            #expect(cairn(["snapshot", "verify", prefix + "/q4.csnap"]).status == 0)
            let out = dir.file("q4.db")
            let r = cairn(["snapshot", "restore", prefix + "/q4.csnap", "--to", out])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(Self.digest(out) == Self.digest(h.db))
            let missing = cairn(["snapshot", "restore", prefix + "/none.csnap", "--to", dir.file("none.db")])
            #expect(missing.status != 0 && missing.stderr.contains("none.csnap"), "\(missing.stderr)")
        }
    }
}
