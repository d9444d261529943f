import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

extension Delete {
    struct Obsolete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the backups, archived logs and automatic snapshots the retention policy no longer needs (see `cairn report obsolete`).")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Flag(help: "Print JSON: the backups, log copies and log records deleted, bytes freed, failures.")
        var json = false

        func run() throws {
            var failed = false
            try reporting { () throws(EngineError) in
                failed = Delete.show(try db.open(waiting).deleteObsolete(), json: json, what: "obsolete")
            }
            if failed { throw ExitCode(1) }
        }
    }
}
