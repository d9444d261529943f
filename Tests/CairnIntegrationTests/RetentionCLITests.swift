import CairnFormats
import CairnCatalog
import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// `configure`, `report obsolete|space`, `delete obsolete|expired`, `crosscheck`,
/// `restore-point`, `restore --restore-point` and `backup --keep-until`: exit codes and JSON.
@Suite struct RetentionCLITests {
    func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }
    func object(_ s: String) -> [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] }
    func array(_ s: String) -> [[String: Any]]? { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [[String: Any]] }

    /// Writes `n` transactions with the WAL pinned, then `cairn archive --once`.
    func cycle(_ db: String, _ n: Int, seed: Int) {
        let hold = WALHold(db)
        Ledger.write(db, n, seed: seed)
        let r = cairn("archive", db, "--once")
        hold.release()
        precondition(r.status == 0, r.stderr)
    }

    @Test func configureSetsAndShowsThePolicy() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 100)
        #expect(cairn("init", db).status == 0)
        var show = try #require(object(cairn("configure", db, "show", "--json").stdout))
        #expect(show["retention"] as? String == "redundancy 1" && show["recoveryAreaLimit"] == nil)
        #expect(show["warningPercent"] as? Int == 85 && show["recoveryArea"] as? String == db + ".cairn")

        #expect(cairn("configure", db, "retention", "redundancy", "3").status == 0)
        show = try #require(object(cairn("configure", db, "show", "--json").stdout))
        #expect(show["retention"] as? String == "redundancy 3" && show["redundancy"] as? Int == 3)
        let window = cairn("configure", db, "retention", "window", "7", "--json")
        #expect(window.status == 0)
        show = try #require(object(window.stdout))
        #expect(show["windowDays"] as? Double == 7 && show["redundancy"] == nil && show["retention"] as? String == "window 7 days")
        #expect(cairn("configure", db, "retention", "none").stdout.contains("retention      none"))
        #expect(cairn("configure", db, "recovery-area-size", "10M").status == 0)
        show = try #require(object(cairn("configure", db, "show", "--json").stdout))
        #expect(show["recoveryAreaLimit"] as? Int == 10 << 20 && show["retention"] as? String == "none")
        #expect(cairn("configure", db, "recovery-area-size", "unlimited").status == 0)
        #expect(object(cairn("configure", db, "show", "--json").stdout)?["recoveryAreaLimit"] == nil)

        for (args, needle) in [
            (["retention", "redundancy", "0"], "at least 1"),
            (["retention", "redundancy", "two"], "whole number"),
            (["retention", "window", "0"], "greater than 0"),
            (["retention", "forever"], "Usage"),
            (["recovery-area-size", "lots"], "not a size"),
            (["recovery-area-size"], "Usage"),
            (["colour", "blue"], "Unknown setting"),
        ] {
            let r = Shell.run([Paths.cairn, "configure", db] + args)
            #expect(r.status == 64, "\(args): \(r.status)")
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        #expect(cairn("configure", dir.file("nope.db"), "show").status == 3)
    }

    @Test func retentionRestorePointsAndCrosscheckThroughTheCommandLine() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 300)
        #expect(cairn("init", db).status == 0)
        let noBackup = cairn("restore-point", db, "create", "early", "--guarantee")
        #expect(noBackup.status == 3 && noBackup.stderr.contains("cairn backup"))
        var ids: [Int] = []
        for seed in 1...3 {
            cycle(db, 20, seed: seed)
            let b = cairn("backup", db, "--json")
            #expect(b.status == 0, "\(b.stderr)")
            ids.append(object(b.stdout)?["id"] as? Int ?? 0)
        }
        cycle(db, 10, seed: 9)

        // Restore points.
        let created = cairn("restore-point", db, "create", "before-upgrade", "--guarantee", "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let rp = try #require(object(created.stdout))
        #expect(rp["name"] as? String == "before-upgrade" && rp["guaranteed"] as? Bool == true && rp["scn"] as? Int == 70)
        #expect(rp["backupId"] as? Int == ids[2] && rp["onCurrentLineage"] as? Bool == true)
        #expect(cairn("restore-point", db, "create", "before-upgrade").status == 64)
        #expect(cairn("restore-point", db, "create", "no/slashes").status == 64)
        #expect(cairn("restore-point", db, "rename", "x").status == 64)
        let list = try #require(array(cairn("restore-point", db, "list", "--json").stdout))
        #expect(list.count == 1 && list[0]["name"] as? String == "before-upgrade")
        #expect(cairn("restore-point", db, "list").stdout.contains("before-upgrade"))
        cycle(db, 10, seed: 10)

        let out = dir.file("rp.db")
        let restored = cairn("restore", db, "--restore-point", "before-upgrade", "--to", out, "--json")
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(object(restored.stdout)?["scn"] as? Int == 70)
        #expect(Ledger.check(out).transfers == 300 + 70)
        #expect(cairn("restore", db, "--restore-point", "before-upgrade", "--scn", "3", "--to", dir.file("x.db")).status == 64)
        #expect(cairn("restore", db, "--restore-point", "nope", "--to", dir.file("x.db")).status == 3)

        // Obsolete backups and logs.
        #expect(cairn("configure", db, "retention", "redundancy", "1").status == 0)
        let report = try #require(object(cairn("report", "obsolete", db, "--json").stdout))
        #expect((report["backups"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [ids[0], ids[1]])
        #expect(((report["logs"] as? [[String: Any]])?.count ?? 0) > 0)
        #expect(report["floorBackupId"] as? Int == ids[2] && (report["bytes"] as? Int ?? 0) > 0)
        #expect(cairn("report", "obsolete", db).stdout.contains("backup \(ids[0])"))
        let deleted = cairn("delete", "obsolete", db, "--json")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let d = try #require(object(deleted.stdout))
        #expect(d["backups"] as? [Int] == [ids[0], ids[1]] && (d["bytes"] as? Int ?? 0) > 0 && (d["failures"] as? [Any])?.isEmpty == true)
        #expect((object(cairn("report", "obsolete", db, "--json").stdout)?["backups"] as? [Any])?.isEmpty == true)
        #expect(cairn("delete", "obsolete", db).stdout.contains("nothing obsolete"))
        #expect(cairn("restore-point", db, "drop", "before-upgrade").status == 0)
        #expect(cairn("restore-point", db, "drop", "before-upgrade").status == 3)

        // Crosscheck: a missing piece makes the backup EXPIRED; delete expired removes it.
        let ok = try #require(object(cairn("crosscheck", db, "--json").stdout))
        #expect((ok["backups"] as? [[String: Any]])?.allSatisfy { $0["status"] as? String == "AVAILABLE" } == true)
        let backupDir = db + ".cairn/backups/" + RepositoryLayout.backupDirectoryName(UInt64(ids[2]))
        FileSystem.removeFile(backupDir + "/" + BackupManifest.fileName)
        let cc = cairn("crosscheck", db, "--json")
        #expect(cc.status == 0)
        let expired = try #require((object(cc.stdout)?["backups"] as? [[String: Any]])?.first)
        #expect(expired["status"] as? String == "EXPIRED" && (expired["problem"] as? String)?.contains("manifest") == true)
        let rows = try #require(array(cairn("list", "backups", db, "--json").stdout))
        #expect(rows.first?["status"] as? String == "EXPIRED")
        #expect(cairn("crosscheck", db).stdout.contains("EXPIRED"))
        let de = cairn("delete", "expired", db, "--json")
        #expect(de.status == 0 && object(de.stdout)?["backups"] as? [Int] == [ids[2]])
        #expect(!FileSystem.exists(backupDir))
        #expect(array(cairn("list", "backups", db, "--json").stdout)?.isEmpty == true)
        #expect(cairn("delete", "expired", db).stdout.contains("nothing expired"))
    }

    @Test func archivalBackupsSpaceReportAndWarnings() throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 300)
        #expect(cairn("init", db).status == 0)
        cycle(db, 10, seed: 1)
        let kept = cairn("backup", db, "--keep-until", "forever", "--json")
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(object(kept.stdout)?["keepForever"] as? Bool == true)
        let dated = cairn("backup", db, "--keep-until", "2999-01-31", "--json")
        #expect(object(dated.stdout)?["keepUntil"] as? String == "2999-01-31T00:00:00Z")
        for (args, needle) in [
            (["--level", "1", "--keep-until", "forever"], "level-0"),
            (["--keep-until", "2001-01-01"], "not in the future"),
            (["--keep-until", "soon"], "not a date"),
        ] {
            let r = Shell.run([Paths.cairn, "backup", db] + args)
            #expect(r.status == 64 && r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        let rows = try #require(array(cairn("list", "backups", db, "--json").stdout))
        #expect(rows.count == 2 && rows[0]["keepForever"] as? Bool == true && rows[1]["keepForever"] as? Bool == false)

        let space = try #require(object(cairn("report", "space", db, "--json").stdout))
        let used = try #require(space["used"] as? Int)
        let cats = try #require(space["categories"] as? [String: Any])
        for key in ["backups", "logBackups", "archivedLogs", "onlineLogs", "other"] { #expect(cats[key] is Int, "missing \(key)") }
        #expect(space["limit"] == nil && space["reclaimable"] is Int && space["path"] as? String == db + ".cairn")
        #expect(cairn("report", "space", db).stdout.contains("unlimited"))

        // At ≥ 85 % of the limit: a warning in `report space` and in `status`.
        #expect(cairn("configure", db, "recovery-area-size", String(used * 100 / 88)).status == 0)
        let full = try #require(object(cairn("report", "space", db, "--json").stdout))
        #expect((full["percent"] as? Double ?? 0) >= 85 && (full["warning"] as? String)?.contains("recovery-area-size") == true)
        let status = try #require(object(cairn("status", db, "--json").stdout))
        #expect((status["warnings"] as? [String])?.contains { $0.contains("recovery area") } == true)
        #expect(cairn("status", db).stdout.contains("warning"))
        // Too small for another backup: a clear error, exit 6, nothing recorded.
        #expect(cairn("configure", db, "recovery-area-size", String(used + 100)).status == 0)
        let refused = cairn("backup", db)
        #expect(refused.status == 6 && refused.stderr.contains("recovery-area-size"), "\(refused.stderr)")
        #expect(array(cairn("list", "backups", db, "--json").stdout)?.count == 2)
    }
}
