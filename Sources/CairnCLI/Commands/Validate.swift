import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and verify every byte of one backup or of all backups.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "Backup id (default: every backup).")
    var backup: UInt64?

    @Flag(help: "Print JSON: an array of results.")
    var json = false

    func run() throws {
        var failed = 0
        try reporting { () throws(EngineError) in
            let results = try db.open(waiting).validate(backup: backup, monitor: TerminalProgress.monitor())
            failed = results.filter { !$0.ok }.count
            if json { Output.json(results); return }
            for r in results {
                print(r.ok ? "backup \(r.id): OK" : "backup \(r.id): FAILED: \(r.error ?? "")")
            }
            print("\(results.count - failed) of \(results.count) backup(s) valid")
        }
        if failed > 0 { throw ExitCode(4) }
    }
}
