import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

extension Delete {
    struct Expired: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the records of backups and archived logs a crosscheck found gone (EXPIRED), and what is left of their files.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Flag(help: "Print JSON: the backups, log copies and log records removed, bytes freed, failures.")
        var json = false

        func run() throws {
            var failed = false
            try reporting { () throws(EngineError) in
                failed = Delete.show(try db.open(waiting).deleteExpired(), json: json, what: "expired")
            }
            if failed { throw ExitCode(1) }
        }
    }
}
