import ArgumentParser
import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a database's tables out logically: one SQL script that rebuilds it, or CSV or JSON Lines files.",
        discussion: """
            Without --as-of the live database is read in one read transaction (a consistent state; in WAL mode the application goes on writing meanwhile). With --as-of (an SCN, an ISO 8601 time or a restore point) the database as it was then, its pages rebuilt from backups and logs as `cairn query --as-of` reads them. --format sql writes one script that rebuilds the database exactly (`cairn import` runs it); csv and jsonl write one file a table into the --to directory, or the --to file when one --table is named. Files are written under a temporary name and renamed once complete and on disk, no more readable than the database; an existing file is refused without --force. docs/export.md describes the formats.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(name: .customLong("as-of"), help: "Export the database as of this SCN, ISO 8601 time or restore point (default: the live database).")
    var asOf: String?

    @Option(name: .customLong("table"), parsing: .upToNextOption, help: "Export only these tables (with their indexes and triggers in a SQL script).")
    var tables: [String] = []

    @Option(help: "sql, csv or jsonl.")
    var format: String

    @Option(help: "The file to write (sql; csv or jsonl with one --table), or the directory for one file a table.")
    var to: String

    @Flag(help: "Replace files that exist at --to.")
    var force = false

    @Flag(help: "Print a summary as JSON: tables, rows, bytes and files.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            guard let format = ExportFormat(rawValue: format.lowercased()) else {
                throw .invalidArgument("--format \(format): choose sql, csv or jsonl.")
            }
            ErrorRendering.database = db.database
            cairn_remove_on_signal_install()
            let request = ExportRequest(database: db.database, format: format, tables: tables, target: to, force: force)
            let monitor = TerminalProgress.monitor()
            let summary = if let asOf {
                try db.open().export(request, asOf: PointInTime.parse(asOf), monitor: monitor)
            } else {
                try DatabaseExport.live(request, monitor: monitor)
            }
            if json { return Output.json(summary) }
            let state = summary.scn.map { " as of SCN \($0)" } ?? ""
            let place = summary.files.count == 1 ? summary.files[0] : "\(summary.files.count) files in \(to)"
            print("exported \(summary.tables.count) table(s), \(summary.rows) row(s) of \(db.database)\(state) to \(place) (\(Output.bytes(summary.bytes)), \(format.rawValue))")
        }
    }
}
