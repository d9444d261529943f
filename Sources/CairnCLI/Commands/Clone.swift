import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Clone: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database as of a point into a new database of its own (a new DBID), for a test environment or an investigation.",
        discussion: "The copy is built as a restore is (every checksum, state and SQLite's integrity_check verified) and gets a DBID of its own, kept beside it in PATH.cairn-clone. With --register it is registered under that DBID with its own repository (PATH.cairn, or --clone-repo) and a level-0 backup is taken of it: its backups and logs can never be mixed up with the source's. Without a point: everything captured (complete recovery).")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "Where to write the clone (a new path).")
    var to: String

    @OptionGroup var point: OptionalPointOptions

    @Flag(help: "Register the clone with its own repository and take its first level-0 backup.")
    var register = false

    @Option(name: .customLong("clone-repo"), help: "With --register: the clone's repository directory (default: PATH.cairn).")
    var cloneRepo: String?

    @Flag(help: "Replace an existing file at --to (never a database Cairn protects).")
    var force = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            guard register || cloneRepo == nil else { throw .invalidArgument("--clone-repo goes with --register.") }
            let p = try db.open()
            p.lockWait = try waiting.policy()
            let at = try point.resolve(p)
            let r = try p.clone(to: to, target: at.target ?? .complete, incarnation: at.incarnation, force: force, register: register,
                                repository: cloneRepo, monitor: TerminalProgress.monitor())
            if json { Output.json(r); return }
            print("cloned \(r.source) (DBID \(r.sourceDbid)) as of SCN \(r.recovery.scn) into \(r.path): a database of its own, DBID \(r.dbid); every checksum and state verified, and SQLite's integrity_check passed")
            if let repository = r.repository, let backup = r.backupId {
                print("registered with its own repository \(repository); level-0 backup \(backup) taken")
                print("next: run `cairn archive \(r.path) --follow` (or add it to the agent) to capture its commits")
            } else {
                print("next: `cairn init \(r.path)` registers it under DBID \(r.dbid) when it needs protecting")
            }
        }
    }
}
