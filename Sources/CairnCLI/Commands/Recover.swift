import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a database restored earlier to a new file further forward with the logged transactions after its point.",
        discussion: "Restore to a new file first (`cairn restore DB --to FILE --scn N`), inspect it read-only, then recover it further here as often as needed. The file must be as it was restored; the transactions are applied to a copy beside it, checked, and the copy replaces it.")

    @Argument(help: "The restored database file.")
    var file: String

    @Option(help: "Recover to right after this SCN committed.")
    var scn: UInt64?

    @Option(help: "Recover to the last transaction committed at or before this time (ISO 8601).")
    var time: String?

    @Option(help: "Follow this incarnation's lineage (default: the one the file's point is on, the current one's when it is on it).")
    var incarnation: Int?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            guard scn == nil || time == nil else { throw .invalidArgument("Give at most one of --scn and --time.") }
            var target = RecoveryTarget.complete
            if let scn { target = .scn(scn) }
            if let time { target = .time(try PointOptions.time(time)) }
            let r = try Catalog.recoverRestoredFile(file, target: target, incarnation: incarnation, monitor: TerminalProgress.monitor())
            if json { Output.json(r); return }
            print("\(file) recovered from SCN \(r.backupScn) to SCN \(r.scn): \(r.transactionsApplied) transaction(s) from \(r.logsApplied) log(s) applied, every state verified, and SQLite's integrity_check passed")
            if let s = r.shortfall { print("INCOMPLETE recovery: \(s.summary)") }
        }
    }
}
