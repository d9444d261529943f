@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// One database, many names: a symbolic link to it, a relative path, `..`, a symlinked
/// directory all name the same database, registered once under its real path.
@Suite struct PathResolutionTests {
    /// Runs `cairn` in the working directory `cwd`.
    static func cairn(in cwd: String, _ args: String...) -> Shell.Output {
        Shell.run(["sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", cwd, Paths.cairn] + args)
    }

    static func cairn(_ args: String...) -> Shell.Output { Shell.run([Paths.cairn] + args) }

    static func link(_ path: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }

    static func statusDatabase(_ db: String) throws -> String? {
        let r = cairn("status", db, "--json")
        #expect(r.status == 0, "status \(db): \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return json?["database"] as? String
    }

    @Test func aDatabaseRegisteredThroughALinkIsFoundByItsRealName() throws {
        let dir = TempDir()
        let real = dir.file("my db.sqlite"), link = dir.file("link.sqlite")
        Ledger.create(real, filler: 100)
        try Self.link(link, to: "my db.sqlite")
        let initialized = Self.cairn("init", link)
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(FileSystem.exists(dir.file(".my db.sqlite.cairn-control")) && FileSystem.isDirectory(real + ".cairn"))
        #expect(!FileSystem.exists(dir.file(".link.sqlite.cairn-control")) && !FileSystem.exists(link + ".cairn"))
        let byName = Self.cairn("backup", real)
        #expect(byName.status == 0, "\(byName.stderr)")
        let byLink = Self.cairn("backup", link)
        #expect(byLink.status == 0, "\(byLink.stderr)")
        #expect(try Self.statusDatabase(link) == real)
        #expect(try Catalog.open(database: link, logger: quietLogger).backups.count == 2)
        // Registering it again under either name is refused: it is one database.
        #expect(Self.cairn("init", real).status != 0)
        #expect(Self.cairn("init", link).status != 0)
    }

    @Test func relativePathsAndDotDotNameTheSameDatabase() throws {
        let dir = TempDir()
        let a = dir.file("a"), b = dir.file("b")
        for d in [a, b, a + "/sub"] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let db = a + "/app.sqlite"
        Ledger.create(db, filler: 100)
        let initialized = Self.cairn(in: b, "init", "../a/app.sqlite")
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(FileSystem.exists(a + "/.app.sqlite.cairn-control") && FileSystem.isDirectory(db + ".cairn"))
        #expect(Self.cairn(in: a, "backup", "app.sqlite").status == 0)
        #expect(Self.cairn(in: dir.path, "backup", "b/../a/app.sqlite").status == 0)
        #expect(try Self.statusDatabase(b + "/../a/./app.sqlite") == db)
        // `..` after a link is the parent of the link's target, as the kernel sees it.
        try Self.link(dir.file("s"), to: a + "/sub")
        #expect(try Self.statusDatabase(dir.file("s/../app.sqlite")) == db)
        #expect(try Catalog.open(database: dir.file("s/../app.sqlite"), logger: quietLogger).databasePath == db)
    }

    @Test func aSymlinkedParentDirectory() throws {
        let dir = TempDir()
        let realDir = dir.file("real"), alias = dir.file("alias")
        try FileManager.default.createDirectory(atPath: realDir, withIntermediateDirectories: true)
        try Self.link(alias, to: realDir)
        let db = realDir + "/app.sqlite"
        Ledger.create(db, filler: 100)
        let initialized = Self.cairn("init", alias + "/app.sqlite", "--archive-dest", alias + "/archive",
                                     "--log-member-dir", alias + "/members", "--control-copy", alias + "/extra.ctl")
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let p = try Catalog.open(database: alias + "/app.sqlite", logger: quietLogger)
        #expect(p.databasePath == db && p.layout.root == db + ".cairn")
        #expect(p.control.redo.archiveDestinations == [realDir + "/archive"] && p.control.redo.memberDirectories == [realDir + "/members"])
        #expect(p.control.controlCopies.contains(realDir + "/extra.ctl"))
        #expect(Self.cairn("backup", db).status == 0)
        // --repo through the link is the same repository.
        let viaRepoLink = Self.cairn("backup", db, "--repo", alias + "/app.sqlite.cairn")
        #expect(viaRepoLink.status == 0, "\(viaRepoLink.stderr)")
        #expect(Self.cairn("archive", alias + "/app.sqlite", "--once").status == 0)
        #expect(try Catalog.open(database: db, logger: quietLogger).backups.count == 2)
    }

    @Test func restoreToThroughASymlinkedDirectory() throws {
        let dir = TempDir()
        let db = dir.file("app.sqlite")
        Ledger.create(db, filler: 100)
        #expect(Self.cairn("init", db).status == 0)
        #expect(Self.cairn("backup", db).status == 0)
        let outReal = dir.file("out-real"), out = dir.file("out"), here = dir.file("here")
        try FileManager.default.createDirectory(atPath: outReal, withIntermediateDirectories: true)
        try Self.link(out, to: outReal)
        try Self.link(here, to: dir.path)
        let restored = Self.cairn("restore", db, "--to", out + "/r.sqlite")
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(Ledger.check(outReal + "/r.sqlite").integrity == "ok")
        let alone = Self.cairn("restore", "--repo", here + "/app.sqlite.cairn", "--to", out + "/alone.sqlite")
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(Ledger.check(outReal + "/alone.sqlite").integrity == "ok")
        // The live database and the repository, named through a link, are recognised as such.
        let onLive = Self.cairn("restore", db, "--to", here + "/app.sqlite", "--force")
        #expect(onLive.status == 64 && onLive.stderr.contains("the live database"), "\(onLive.stderr)")
        let intoRepo = Self.cairn("restore", "--repo", db + ".cairn", "--to", here + "/app.sqlite.cairn/x.sqlite")
        #expect(intoRepo.status == 64 && intoRepo.stderr.contains("inside the repository"), "\(intoRepo.stderr)")
    }

    /// Releases before this one registered a database under the name it was given.
    @Test func aDatabaseRegisteredUnderALinkByAnOlderReleaseStillOpens() throws {
        let dir = TempDir()
        let real = dir.file("my db.sqlite"), link = dir.file("link.sqlite")
        Ledger.create(real, filler: 100)
        try Self.link(link, to: real)
        let besideLink = RepositoryLayout.besideDatabaseControlCopy(forDatabase: link)
        let besideReal = RepositoryLayout.besideDatabaseControlCopy(forDatabase: real)
        let p = try Catalog.initialize(database: real, repository: link + ".cairn", logger: quietLogger)
        try p.transact { (c: inout ControlFile) throws(EngineError) in
            c.databasePath = link
            c.controlCopies = [besideLink, p.layout.controlCopy]
        }
        try FileSystem.rename(besideReal, besideLink)
        for name in [link, real] {
            let r = Self.cairn("backup", name)
            #expect(r.status == 0, "backup \(name): \(r.stderr)")
        }
        let reopened = try Catalog.open(database: real, logger: quietLogger)
        #expect(reopened.backups.count == 2 && reopened.control.databasePath == link && reopened.databasePath == real)
    }
}
