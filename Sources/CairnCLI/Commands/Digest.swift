import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Digest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a digest of a database's content (every row of every table), to compare two databases.")

    @Argument(help: "Path of the SQLite database.")
    var database: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let d = try ContentDigest.compute(database)
            if json { Output.json(d); return }
            print("\(d.digest)  \(database) (\(d.tables) tables, \(d.rows) rows)")
        }
    }
}
