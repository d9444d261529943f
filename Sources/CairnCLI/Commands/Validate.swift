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

    @Option(help: "Validate the copies a remote repository holds (downloaded to a private directory) instead of the repository's.")
    var remote: String?

    @Flag(help: "Print JSON: an array of results.")
    var json = false

    func run() throws {
        var failed = 0
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let results = try remote != nil ? p.validateRemote(remote!, backup: backup, monitor: TerminalProgress.monitor())
                : p.validate(backup: backup, monitor: TerminalProgress.monitor())
            failed = results.filter { !$0.ok }.count
            if json { Output.json(results); return }
            for r in results {
                let at = remote.map { " at \($0)" } ?? ""
                print(r.ok ? "backup \(r.id)\(at): OK" : "backup \(r.id)\(at): FAILED: \(r.error ?? "")")
            }
            print("\(results.count - failed) of \(results.count) backup(s) valid")
        }
        if failed > 0 { throw ExitCode(4) }
    }
}
