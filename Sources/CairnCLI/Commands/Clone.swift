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

    @Option(help: "As of right after this SCN committed.")
    var scn: UInt64?

    @Option(help: "As of the last transaction committed at or before this time (ISO 8601).")
    var time: String?

    @Option(name: .customLong("restore-point"), help: "As of this restore point.")
    var restorePoint: String?

    @Option(help: "The point is on this incarnation's lineage; default: the current incarnation's.")
    var incarnation: Int?

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
            let given = [scn != nil, time != nil, restorePoint != nil].filter { $0 }.count
            guard given <= 1 else { throw .invalidArgument("Give at most one of --scn, --time or --restore-point.") }
            guard register || cloneRepo == nil else { throw .invalidArgument("--clone-repo goes with --register.") }
            let p = try db.open()
            p.lockWait = try waiting.policy()
            var target = RecoveryTarget.complete
            var lineage = incarnation
            if let scn { target = .scn(scn) }
            if let time { target = .time(try PointOptions.time(time)) }
            if let restorePoint {
                let at = try p.restorePointLocation(restorePoint)
                target = .scn(at.scn)
                lineage = lineage ?? at.incarnation
            }
            let r = try p.clone(to: to, target: target, incarnation: lineage, force: force, register: register,
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
