import ArgumentParser
import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

struct Snapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Self-contained snapshot files: one file holding the database at an SCN, compressed, checksummed (encrypted when the repository is), to carry away and restore anywhere.",
        discussion: "A snapshot file starts with a plain-text header (`head -c 512 FILE`): the format, the writing Cairn release, the DBID, the SCN and its time. A reader checks that header before anything else and refuses a snapshot written by a newer Cairn release; the same or older releases' snapshots are read.",
        subcommands: [Create.self, ListSnapshots.self, Export.self, Verify.self, RestoreSnapshot.self, Drop.self, RunDue.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a snapshot of the database (now, or as of a point) into its repository.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Option(help: "The snapshot's name (letters, digits, '.', '_', '-'; default snap-TIME).")
        var name: String?

        @OptionGroup var point: OptionalPointOptions

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let p = try db.open()
                p.lockWait = try waiting.policy()
                let at = try point.resolve(p)
                let s = try p.createSnapshot(name: name, target: at.target, incarnation: at.incarnation, time: at.time, monitor: TerminalProgress.monitor())
                if json { Output.json(s); return }
                print("snapshot \(s.name) of \(p.databasePath) at SCN \(s.scn) written to \(s.path): \(Output.bytes(s.bytes)) for \(s.pages) pages\(s.encrypted ? ", encrypted" : ""), re-read and checked")
            }
        }
    }

    struct ListSnapshots: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the snapshots in the database's repository.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of snapshots.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let all = try db.open().listSnapshots()
                if json { Output.json(all); return }
                if all.isEmpty { print("no snapshots"); return }
                print("NAME                      SCN         TIME                  RELEASE  SIZE        FILE")
                for s in all {
                    if let problem = s.problem { print("\(s.name.padding(toLength: 25, withPad: " ", startingAt: 0)) unreadable: \(problem)"); continue }
                    print([s.name.padding(toLength: 25, withPad: " ", startingAt: 0), String(s.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           Output.date(s.time).padding(toLength: 21, withPad: " ", startingAt: 0), s.release.padding(toLength: 8, withPad: " ", startingAt: 0),
                           Output.bytes(s.bytes).padding(toLength: 11, withPad: " ", startingAt: 0), s.path].joined(separator: " "))
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a snapshot out of the repository (verified first) to keep it elsewhere.")

        @OptionGroup var db: DatabaseOptions

        @Argument(help: "The snapshot's name.")
        var name: String

        @Option(help: "The file to write, or s3://BUCKET/PREFIX[/NAME.csnap] (endpoint and credentials from the AWS_* environment variables).")
        var to: String

        @Flag(help: "Replace an existing file at --to.")
        var force = false

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let s = try db.open().exportSnapshot(name, to: to, force: force, monitor: TerminalProgress.monitor())
                if json { Output.json(s); return }
                print("snapshot \(s.name) (SCN \(s.scn)) verified and copied to \(s.path)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a snapshot file and check every byte of it, writing nothing.")

        @OptionGroup var source: SnapshotSource

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let s = try Catalog.verifySnapshot(source.localPath(), monitor: TerminalProgress.monitor())
                if json { Output.json(s); return }
                print("snapshot \(s.name) of DBID \(s.dbid) at SCN \(s.scn) (written by Cairn \(s.release)): every checksum verified, nothing written")
            }
        }
    }

    struct RestoreSnapshot: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a snapshot file into a new database file.")

        @OptionGroup var source: SnapshotSource

        @Option(help: "Where to write the database (a new file).")
        var to: String?

        @Option(name: .customLong("in-place"), help: "Replace this live database (the one the snapshot was taken of) with the snapshot.")
        var inPlace: String?

        @Option(help: "With --in-place: the database's repository directory (default: DATABASE.cairn).")
        var repo: String?

        @Flag(help: "Replace an existing file at --to.")
        var force = false

        @Flag(name: .customLong("integrity-check"), help: "Also run SQLite's PRAGMA integrity_check on the database built before handing it out (about 4 s per GiB). Without it, every checksum and the state prove the file is, page for page, the database the snapshot was taken of.")
        var integrityCheck = false

        @OptionGroup var waiting: WaitOptions

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                guard (to == nil) != (inPlace == nil) else { throw .invalidArgument("Choose exactly one of --to PATH or --in-place DATABASE.") }
                let path = try source.localPath()
                let checked = integrityCheck ? ", and SQLite's integrity_check passed" : ""
                if let inPlace {
                    let p = try Catalog.open(database: inPlace, repository: repo, logger: Logger(label: "cairn"))
                    p.lockWait = try waiting.policy()
                    let s = try p.restoreSnapshotInPlace(path, integrityCheck: integrityCheck, monitor: TerminalProgress.monitor())
                    if json { Output.json(s); return }
                    print("restored snapshot \(s.name) (SCN \(s.scn)) in place into \(p.databasePath) (incarnation \(p.control.incarnation)); every checksum and the state verified\(checked)")
                    return
                }
                let s = try Catalog.restoreSnapshot(path, to: to!, force: force, integrityCheck: integrityCheck, monitor: TerminalProgress.monitor())
                if json { Output.json(s); return }
                print("restored snapshot \(s.name) (DBID \(s.dbid), SCN \(s.scn)) into \(FileSystem.resolved(to!)); every checksum and the state verified\(checked)")
            }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a snapshot from the repository.")

        @OptionGroup var db: DatabaseOptions

        @Argument(help: "The snapshot's name.")
        var name: String

        func run() throws {
            try reporting { () throws(EngineError) in
                try db.open().dropSnapshot(name)
                print("snapshot \(name) dropped")
            }
        }
    }
}

extension Snapshot {
    struct RunDue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-due",
            abstract: "Make the day's automatic snapshot when it is due (`cairn configure DB snapshot daily`), keeping the newest ones as configured; for cron when no agent runs.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Option(help: "Act as at this time (ISO 8601) instead of now: to catch up on a day, or to test a schedule.")
        var now: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let p = try db.open()
                p.lockWait = try waiting.policy()
                let at = try now.map(PointOptions.time) ?? Date()
                guard p.control.policy.dailySnapshot != nil else {
                    throw .invalidArgument("No daily snapshot is configured for \(p.databasePath); turn it on with `cairn configure \(p.databasePath) snapshot daily [--at HH:MM] [--keep N]`.")
                }
                let r = try p.runDueSnapshot(now: at, monitor: TerminalProgress.monitor())
                if json { Output.json(r); return }
                if let m = r.made { print("snapshot \(m.name) made at SCN \(m.scn): \(m.path)") } else { print("nothing due: today's automatic snapshot exists") }
                for d in r.dropped { print("dropped older automatic snapshot \(d)") }
                if let next = r.nextDue { print("next due: \(Output.date(next))") }
            }
        }
    }
}

/// The snapshot a command reads: a file or `s3://…/NAME.csnap`, with the key and object-store settings to reach it.
struct SnapshotSource: ParsableArguments {
    @Argument(help: "The snapshot file, or s3://BUCKET/PREFIX/NAME.csnap.")
    var file: String

    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var objectStore: ObjectStoreOptions

    /// The snapshot as a local file (downloaded first when it is an object).
    func localPath() throws(EngineError) -> String {
        objectStore.apply()
        return try Catalog.localSnapshot(file)
    }
}
