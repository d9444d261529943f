@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Everything Cairn creates for a database is no more readable than the database (invariant
/// 10): repository, online logs outside it, archive destinations, control-file copies, lock,
/// temporary and page-map files, log backup sets, cataloged copies, restores; whatever the umask.
@Suite struct FileModeTests {
    /// Runs `cairn` under `umask`.
    static func cairn(_ umask: String, _ args: [String]) -> Shell.Output {
        Shell.run(["sh", "-c", "umask \(umask); exec \"$@\"", "sh", Paths.cairn] + args)
    }

    /// Every entry below `dir` (not `dir` itself): path, permission bits, whether a directory.
    static func entries(_ dir: String) -> [(path: String, bits: mode_t, isDirectory: Bool)] {
        let r = Shell.run(["find", dir, "-mindepth", "1", "-printf", "%m %y %p\\n"])
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", maxSplits: 2)
            guard f.count == 3, let bits = mode_t(f[0], radix: 8) else { return nil }
            return (String(f[2]), bits, f[1] == "d")
        }
    }

    static func octal(_ m: mode_t) -> String { String(m, radix: 8) }

    /// A database whose own files (`*.sqlite`, its -wal and -shm, restores of it) have
    /// `databaseMode`, registered with every kind of place outside its repository; each kind
    /// of file Cairn writes is made by the command line run under `umask`. Returns the
    /// directory holding all of it.
    static func exercise(umask: String, databaseMode: mode_t, initMode: String?) throws -> TempDir {
        let dir = TempDir("filemode")
        let db = dir.file("app.sqlite")
        Ledger.create(db, filler: 300)
        #expect(chmod(db, databaseMode) == 0)
        func run(_ args: [String]) {
            let r = cairn(umask, args)
            #expect(r.status == 0, "cairn \(args.joined(separator: " ")): \(r.stderr)")
        }
        func cycle(_ seed: Int) {
            let hold = WALHold(db)
            Ledger.write(db, 15, seed: seed)
            run(["archive", db, "--once"])
            hold.release()
        }
        run(["init", db, "--control-copy", dir.file("elsewhere/control/extra.ctl"),
             "--log-member-dir", dir.file("logs/a"), "--log-member-dir", dir.file("logs/b"),
             "--archive-dest", dir.file("dest/archive"), "--archive-dest", db + ".cairn/archive"]
            + (initMode.map { ["--mode", $0] } ?? []))
        run(["backup", db])
        cycle(1)
        run(["backup", db, "--level", "1"])
        run(["backup", db, "--as-copy"])
        cycle(2)
        run(["backup", db, "--archivelog"])
        #expect(Shell.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"]).status == 0)
        #expect(Shell.run(["sh", "-c", "umask \(umask); exec cp \"$1\" \"$2\"", "sh", db, dir.file("copy.sqlite")]).status == 0)
        run(["catalog", "add", db, dir.file("copy.sqlite")])
        cycle(3)
        run(["restore", db, "--to", dir.file("restored.sqlite")])
        run(["restore", "--repo", db + ".cairn", "--to", dir.file("alone.sqlite")])
        run(["restore", db, "--to", dir.file("old.sqlite"), "--backup", "1"])
        run(["restore", db, "--in-place", "--scn", "20"])
        return dir
    }

    /// Checks every entry below `dir`: the database's own files have `databaseMode`, image
    /// copies the read bits of `cairnMode`, every other file `cairnMode` and every directory
    /// `cairnMode` plus x where r is set.
    static func expectModes(_ dir: TempDir, databaseMode: mode_t, cairnMode: mode_t) {
        let cairnFile = FileMode(clamping: cairnMode)
        var seen = (files: 0, directories: 0, images: 0)
        for e in entries(dir.path) {
            let name = (e.path as NSString).lastPathComponent
            let expected: mode_t
            if e.isDirectory {
                expected = cairnFile.directoryBits
                seen.directories += 1
            } else if name.hasSuffix(".sqlite") || name.hasSuffix(".sqlite-wal") || name.hasSuffix(".sqlite-shm") {
                expected = databaseMode
            } else if name == ImageCopy.fileName {
                expected = cairnMode & 0o444
                seen.images += 1
            } else {
                expected = cairnMode
                seen.files += 1
            }
            #expect(e.bits == expected, "\(e.path) is \(octal(e.bits)), expected \(octal(expected))")
        }
        // Repository, logs, destinations, control copies, backups, sets: the walk saw them all.
        #expect(seen.directories >= 15 && seen.files >= 25 && seen.images == 2, "\(seen)")
        for must in ["logs/a/redo-g1.log", "dest/archive", "elsewhere/control/extra.ctl", ".app.sqlite.cairn-control",
                     "app.sqlite.cairn/capture/pagemap", "app.sqlite.cairn/capture/capture.lock", "app.sqlite.cairn/control/control.lock",
                     "app.sqlite.cairn/catalog.json", "app.sqlite.cairn/repository.json", "restored.sqlite", "alone.sqlite"] {
            #expect(FileSystem.exists(dir.file(must)), "\(must) was not created")
        }
    }

    @Test(arguments: ["022", "000"])
    func everythingForAnOwnerOnlyDatabaseIsOwnerOnly(umask: String) throws {
        let dir = try Self.exercise(umask: umask, databaseMode: 0o600, initMode: nil)
        Self.expectModes(dir, databaseMode: 0o600, cairnMode: 0o600)
    }

    @Test(arguments: ["022", "000"])
    func initModeSetsTheModeOfCairnsFiles(umask: String) throws {
        let dir = try Self.exercise(umask: umask, databaseMode: 0o600, initMode: "0640")
        Self.expectModes(dir, databaseMode: 0o600, cairnMode: 0o640)
        let p = try Catalog.open(database: dir.file("app.sqlite"), logger: quietLogger)
        #expect(p.control.fileMode == FileMode(clamping: 0o640))
    }

    @Test func aGroupReadableDatabaseGivesGroupReadableFilesAndRestores() throws {
        let dir = try Self.exercise(umask: "000", databaseMode: 0o640, initMode: nil)
        Self.expectModes(dir, databaseMode: 0o640, cairnMode: 0o640)
    }

    @Test func theModeFollowsAChmodOfTheDatabase() throws {
        let dir = TempDir()
        let db = dir.file("app.sqlite")
        Ledger.create(db, filler: 100)
        chmod(db, 0o600)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        #expect(p.control.fileMode == nil)
        let first = try p.backup(.quiet())
        chmod(db, 0o640)
        let second = try p.backup(.quiet())
        let dir1 = p.layout.root + "/" + first.directory, dir2 = p.layout.root + "/" + second.directory
        #expect(Self.entries(dir1).allSatisfy { $0.bits == 0o600 })
        #expect(Self.entries(dir2).allSatisfy { $0.bits == 0o640 })
        #expect(Self.entries(p.layout.root).first { $0.path == dir2 }?.bits == 0o750)
        #expect(try BackupManifest.read(directory: dir2).databaseMode == FileMode(clamping: 0o640))
        try p.restore(to: dir.file("out.sqlite"))
        #expect(FileMode.of(file: dir.file("out.sqlite"))?.bits == 0o640)
    }

    @Test func twoDatabasesInOneProcessKeepTheirOwnModes() throws {
        let dir = TempDir()
        var opened: [(Catalog, mode_t)] = []
        for (name, mode) in [("private.sqlite", mode_t(0o600)), ("shared.sqlite", mode_t(0o640))] {
            let db = dir.file(name)
            Ledger.create(db, filler: 100)
            chmod(db, mode)
            opened.append((try Catalog.initialize(database: db, logger: quietLogger), mode))
        }
        for (p, _) in opened { try p.backup(.quiet()) }
        for (p, mode) in opened {
            for e in Self.entries(p.layout.root) {
                #expect(e.bits == (e.isDirectory ? FileMode(clamping: mode).directoryBits : mode), "\(e.path): \(Self.octal(e.bits))")
            }
        }
    }

    /// Backups written before manifests recorded the database's mode restore owner-only
    /// from a repository alone; control files without a mode follow the database.
    @Test func olderManifestsRestoreOwnerOnly() throws {
        let dir = TempDir()
        let db = dir.file("app.sqlite")
        Ledger.create(db, filler: 100)
        chmod(db, 0o644)
        let p = try Catalog.initialize(database: db, logger: quietLogger)
        let b = try p.backup(.quiet())
        let mdir = p.layout.root + "/" + b.directory
        var m = try BackupManifest.read(directory: mdir)
        #expect(m.databaseMode == FileMode(clamping: 0o644))
        m.databaseMode = nil
        let doc = CheckedDocument.make(m, kind: BackupManifest.kind, version: FormatVersion.manifest, usn: 1)
        try FileSystem.atomicWrite(doc.encoded(), to: mdir + "/" + BackupManifest.fileName)
        let r = Self.cairn("022", ["restore", "--repo", p.layout.root, "--to", dir.file("alone.sqlite")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileMode.of(file: dir.file("alone.sqlite"))?.bits == 0o600)
    }

    @Test func unusableModesAreRefused() {
        let dir = TempDir()
        let db = dir.file("app.sqlite")
        Ledger.create(db, filler: 10)
        for (mode, needle) in [("0755", "execute"), ("0700", "execute"), ("0666", "every user"), ("0440", "owner read and write"),
                               ("4600", "setuid"), ("rw-r-----", "not an octal"), ("0689", "not an octal"), ("", "not an octal")] {
            let r = Self.cairn("022", ["init", db, "--mode", mode])
            #expect(r.status == 64, "--mode \(mode): \(r.status)")
            #expect(r.stderr.contains(needle), "--mode \(mode): \(r.stderr)")
        }
        #expect(!FileSystem.exists(db + ".cairn"), "a refused init creates nothing")
        #expect(Self.cairn("022", ["init", db, "--mode", "0o640"]).status == 0)
    }
}
