import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a verified backup and recover to a point: into a new file, or in place of the live database.",
        discussion: "Without a target (or with --latest): complete recovery, every captured transaction — in archived logs, in closed online logs not archived yet and in the intact part of the current online log. When a gap (changes never captured) or a missing log stops it short, it goes to the last point it can reach and says how many captured transactions were left out and why. --backup alone restores that backup as it is. Every database built passes Cairn's checksums and SQLite's integrity_check before it is handed out. Without DATABASE, `--repo DIR --to PATH` restores from the repository alone (no control file needed; nothing is written into DIR).")

    @OptionGroup var db: RestoreSourceOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "Where to write the restored database.")
    var to: String?

    @Option(help: "Backup id to start from (default: the best one for the target).")
    var backup: UInt64?

    @Option(help: "Recover to right after this SCN committed.")
    var scn: UInt64?

    @Option(help: "Recover to the last transaction committed at or before this time (ISO 8601).")
    var time: String?

    @Option(help: "Recover through the end of this log sequence.")
    var sequence: UInt64?

    @Option(name: .customLong("restore-point"), help: "Recover to exactly the SCN of this restore point (`cairn restore-point DB list`).")
    var restorePoint: String?

    @Flag(help: "Complete recovery (the default): everything captured, including the open online log.")
    var latest = false

    @Flag(name: .customLong("allow-incomplete"), help: "With --scn, --time or --sequence: when a gap or a missing log stands before the target, accept the last point before it (complete recovery does so by itself).")
    var allowIncomplete = false

    @Option(help: "The target is on this incarnation's lineage (a branch left by an in-place restore or a flashback); default: the current incarnation's.")
    var incarnation: Int?

    @Flag(help: "Replace an existing file at --to.")
    var force = false

    @Flag(name: .customLong("in-place"), help: "Replace the live database atomically, after verification.")
    var inPlace = false

    @Flag(help: "Read and verify the backup a restore needs without writing anything.")
    var validate = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func target() throws(EngineError) -> RecoveryTarget {
        let given = [scn != nil, time != nil, sequence != nil, latest, restorePoint != nil].filter { $0 }.count
        guard given <= 1 else { throw .invalidArgument("Give at most one of --scn, --time, --sequence, --latest or --restore-point.") }
        if let scn { return .scn(scn) }
        if let sequence { return .sequence(sequence) }
        if latest { return .complete }
        if let time { return .time(try PointOptions.time(time)) }
        return backup != nil ? .backupOnly : .complete
    }

    func run() throws {
        try reporting { () throws(EngineError) in
            let modes = [to != nil, inPlace, validate].filter { $0 }.count
            guard modes == 1 else {
                throw .invalidArgument("Choose exactly one of --to PATH, --in-place or --validate.")
            }
            var t = try target()
            if db.database == nil {
                if restorePoint != nil {
                    throw .invalidArgument("--restore-point needs the database: restore points are recorded in its control file. Give the database path, or use --scn with the point's SCN.")
                }
                return try runFromRepository(target: t)
            }
            let p = try db.open()
            p.lockWait = try waiting.policy()
            var lineage = incarnation
            if let restorePoint {
                let at = try p.restorePointLocation(restorePoint)
                t = .scn(at.scn)
                lineage = lineage ?? at.incarnation
            }
            if validate {
                let r = try p.validateRestore(backup: backup, monitor: TerminalProgress.monitor())
                if json { Output.json(["backup": String(r.id), "scn": String(r.scn), "result": "validated"]); return }
                print("backup \(r.id) (SCN \(r.scn)) validated (nothing written); every checksum verified")
                return
            }
            let r = inPlace
                ? try p.recoverInPlace(target: t, backup: backup, allowIncomplete: allowIncomplete, incarnation: lineage,
                                       monitor: TerminalProgress.monitor())
                : try p.recover(to: to!, target: t, backup: backup, force: force, allowIncomplete: allowIncomplete,
                                incarnation: lineage, recordPoint: true, monitor: TerminalProgress.monitor())
            if json { Output.json(r); return }
            let place = inPlace ? "in place into \(p.databasePath) (incarnation \(p.control.incarnation))" : "into \(to!)"
            Self.report(r, source: "", place: place)
        }
    }
}

extension Restore {
    /// What a restore did, for people: the backup, the logs, the point reached, the checks,
    /// and whether every captured transaction is in it — or what was left out, why, and what to do.
    static func report(_ r: RecoveryEngine.Result, source: String, place: String) {
        print("restored backup \(r.backupId) (SCN \(r.backupScn))\(source) and applied \(r.transactionsApplied) transaction(s) from \(r.logsApplied) log(s): database at SCN \(r.scn) \(place); every checksum and state verified, and SQLite's integrity_check passed")
        if let s = r.shortfall {
            print("INCOMPLETE recovery: \(s.summary)")
        } else if r.target == RecoveryTarget.complete.label {
            print("complete recovery: every captured transaction is in it (the newest captured is SCN \(r.capturedScn ?? r.scn))")
        }
    }
}
