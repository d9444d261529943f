import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run read-only SQL against the database as it was at a point, without restoring it.",
        discussion: "Each page is read as of the point from a backup and the logs, as SQLite asks for it; nothing is written anywhere. --as-of takes an SCN, an ISO 8601 time or a restore point's name.")

    @OptionGroup var db: DatabaseOptions

    @Option(name: .customLong("as-of"), help: "SCN, ISO 8601 time or restore point.")
    var asOf: String

    @Argument(help: "The SQL: read-only statements only.")
    var sql: String

    @Flag(help: "Print JSON: an array of objects, one per row.")
    var json = false

    @Flag(help: "Print CSV with a header line.")
    var csv = false

    func run() throws {
        try reporting { () throws(EngineError) in
            guard !(json && csv) else { throw .invalidArgument("Choose --json or --csv, not both.") }
            let connection = try db.open().openAsOf(PointInTime.parse(asOf))
            defer { connection.close() }
            let out = QueryOutput(format: json ? .json : csv ? .csv : .table)
            do throws(EngineError) {
                try connection.stream(sql) { (e: QueryEvent) throws(EngineError) in out.handle(e) }
            } catch {
                if let failure = connection.sourceFailure { throw .unrecoverable("\(connection.label): \(failure.description)") }
                throw error
            }
            out.finish()
        }
    }
}
