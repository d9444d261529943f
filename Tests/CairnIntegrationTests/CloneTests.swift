import Foundation
import Testing
import CairnTestSupport

/// `cairn clone`: a copy as of a point that is a database of its own. Capture runs in another
/// process while another process writes; the clone equals the source as of the point, has a
/// DBID of its own, and neither repository takes the other database.
@Suite(.serialized) struct CloneTests {
    static func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    static func json(_ text: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:]
    }

    @Test func aCloneIsTheSourceAsOfThePointWithAnIdentityOfItsOwn() throws {
        let h = try CaptureHarness(count: 60)
        let follow = h.startFollow()
        defer { _ = h.stop(follow) }
        #expect(Await.capture(of: h.db))
        #expect(Self.cairn("backup", h.db).status == 0)
        _ = h.write(h.script(0..<30))
        #expect(h.waitCaptured(30), "\(h.followLog)")
        #expect(Self.cairn("restore-point", h.db, "create", "before-batch").status == 0)
        _ = h.write(h.script(30..<60))
        #expect(h.waitCaptured(60), "\(h.followLog)")

        // As of SCN 30 and as of the restore point: equal to a restore to the same SCN.
        let clone = h.dir.file("clone.db"), restored = h.dir.file("restored.db")
        let made = Self.cairn("clone", h.db, "--to", clone, "--scn", "30", "--json")
        #expect(made.status == 0, "\(made.stderr)")
        #expect(Self.cairn("restore", h.db, "--to", restored, "--scn", "30").status == 0)
        #expect(Self.digest(clone) == Self.digest(restored))
        let result = Self.json(made.stdout)
        let sourceDbid = result["sourceDbid"] as? String, dbid = result["dbid"] as? String
        #expect(dbid != nil && dbid != sourceDbid, "\(made.stdout)")
        #expect(FileManager.default.fileExists(atPath: clone + ".cairn-clone"))
        #expect(!FileManager.default.fileExists(atPath: clone + ".cairn-point"), "a clone is not a restored file to roll forward")
        let further = Self.cairn("recover", clone)
        #expect(further.status != 0, "the source's logs are never applied to a clone")
        let atPoint = h.dir.file("at-point.db")
        #expect(Self.cairn("clone", h.db, "--to", atPoint, "--restore-point", "before-batch").status == 0)
        #expect(Self.digest(atPoint) == Self.digest(restored))

        // The unregistered clone registers under the DBID it was given.
        let registered = Self.cairn("init", clone)
        #expect(registered.status == 0, "\(registered.stderr)")
        let status = Self.json(Self.cairn("status", clone, "--json").stdout)
        #expect(status["dbid"] as? String == dbid)

        // --register: the newest point, its own repository and first backup.
        let latest = h.dir.file("latest.db")
        let reg = Self.cairn("clone", h.db, "--to", latest, "--register", "--json")
        #expect(reg.status == 0, "\(reg.stderr)")
        #expect(Self.digest(latest) == Self.digest(h.db))
        let regResult = Self.json(reg.stdout)
        #expect(regResult["repository"] as? String == latest + ".cairn" && regResult["backupId"] != nil, "\(reg.stdout)")
        let own = Self.cairn("list", "backups", latest, "--json")
        #expect(own.status == 0 && own.stdout.contains("\"level\" : 0"), "\(own.stdout) \(own.stderr)")

        // Neither repository takes the other database.
        let intoSource = Self.cairn("backup", latest, "--repo", h.db + ".cairn")
        #expect(intoSource.status != 0 && intoSource.stderr.contains("Nothing was changed"), "\(intoSource.stderr)")
        let intoClone = Self.cairn("backup", h.db, "--repo", latest + ".cairn")
        #expect(intoClone.status != 0 && intoClone.stderr.contains("Nothing was changed"), "\(intoClone.stderr)")
    }

    @Test func badTargetsAreRefusedAndLeaveNothing() throws {
        let h = try CaptureHarness(count: 10)
        #expect(Self.cairn("backup", h.db).status == 0)
        let live = Self.cairn("clone", h.db, "--to", h.db)
        #expect(live.status != 0 && live.stderr.contains("the live database"), "\(live.stderr)")
        let taken = h.dir.file("taken.db")
        FileManager.default.createFile(atPath: taken, contents: Data("keep".utf8))
        let exists = Self.cairn("clone", h.db, "--to", taken)
        #expect(exists.status != 0 && exists.stderr.contains("--force"), "\(exists.stderr)")
        #expect((try? String(contentsOfFile: taken, encoding: .utf8)) == "keep")
        // Never over a database Cairn protects, even with --force.
        let other = h.dir.file("other.db")
        Ledger.create(other, filler: 10)
        #expect(Self.cairn("init", other).status == 0)
        let protected = Self.cairn("clone", h.db, "--to", other, "--force")
        #expect(protected.status != 0 && protected.stderr.contains("a clone never replaces one"), "\(protected.stderr)")
        let future = Self.cairn("clone", h.db, "--to", h.dir.file("future.db"), "--scn", "999999")
        #expect(future.status != 0)
        #expect(!FileManager.default.fileExists(atPath: h.dir.file("future.db")))
        #expect(!FileManager.default.fileExists(atPath: h.dir.file("future.db.cairn-clone")))
    }

    static func digest(_ path: String) -> String {
        (json(cairn("digest", path, "--json").stdout)["digest"] as? String) ?? "none"
    }
}
