import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Crosscheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the files of every backup and archived log are still there and readable; mark the missing ones EXPIRED (and found ones AVAILABLE again).")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Flag(help: "Print JSON: each backup's and each checked log's status and problem.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let r = try db.open(waiting).crosscheck()
            if json { Output.json(r); return }
            for b in r.backups {
                let change = b.status != b.previous ? " (was \(b.previous))" : ""
                print("backup \(b.id): \(b.status)\(change)" + (b.problem.map { ": \($0)" } ?? ""))
            }
            for l in r.logs {
                let change = l.status != l.previous ? " (was \(l.previous))" : ""
                print("log sequence \(l.sequence) (incarnation \(l.incarnation)): \(l.status)\(change)")
                for c in l.copies where c.problem != nil || c.state != c.previous {
                    print("  \(c.destination): \(c.state)" + (c.problem.map { ": \($0)" } ?? ""))
                }
            }
            for b in r.remoteBackups where b.status != "AVAILABLE" {
                print("backup \(b.id) at \(b.remote): \(b.status)" + (b.problem.map { ": \($0)" } ?? ""))
            }
            if !r.remoteBackups.isEmpty { print("\(r.remoteBackups.count) backup cop(ies) at remotes crosschecked, \(r.remoteBackups.filter { $0.status == "MISSING" }.count) missing (copied again by the next pass)") }
            print("\(r.backups.count) backup(s) crosschecked, \(r.expiredBackups) expired; \(r.logs.count) log(s) crosschecked, \(r.expiredLogs) expired")
        }
    }
}
