import ArgumentParser
import CairnCore
import Logging

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register a database: new DBID, WAL mode, repository and multiplexed control file.")

    @Argument(help: "Path of the SQLite database.")
    var database: String

    @Option(help: "Repository directory (default: DATABASE.cairn beside the database).")
    var repo: String?

    @Option(name: .customLong("control-copy"), help: "An extra control-file copy location (repeatable).")
    var controlCopies: [String] = []

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(CairnError) in
            let p = try ProtectedDatabase.initialize(database: database, repository: repo, extraControlCopies: controlCopies,
                                                     logger: Logger(label: "cairn"))
            if json { Output.json(p.status); return }
            print("registered \(p.databasePath)")
            print("  DBID         \(p.control.dbid)")
            print("  incarnation  \(p.control.incarnation)")
            print("  repository   \(p.layout.root)")
            for c in p.control.controlCopies { print("  control file \(c)") }
        }
    }
}
