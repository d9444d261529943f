import ArgumentParser
import Foundation
import CairnFormats
import CairnEngines

struct FlashbackTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Put the rows of tables back as they were at a point, in the live database.",
        discussion: "One transaction in the live database, beside the application (it waits for SQLite's write lock): only rows that differ are deleted or inserted, with their rowids; indexes follow; the tables' triggers do not fire and foreign-key actions do not run. Other tables are untouched. Tables tied by declared foreign keys must be flashed back together: name them, or add --cascade. A table whose columns changed since the point is refused (both schemas shown); --to-table NEW copies the old rows into a new table instead.")

    @OptionGroup var db: DatabaseOptions

    @Argument(help: "The tables to flash back.")
    var tables: [String]

    @OptionGroup var waiting: WaitOptions
    @OptionGroup var at: PointOptions

    @Flag(help: "Also flash back the tables that declared foreign keys tie to those named.")
    var cascade = false

    @Option(name: .customLong("to-table"), help: "Copy the table's rows at the point into this new table instead.")
    var toTable: String?

    @Flag(help: "Count the rows that would change; change nothing.")
    var preview = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let r = try p.flashbackTables(tables, to: try at.point(), incarnation: at.incarnation, cascade: cascade,
                                          toTable: toTable, preview: preview)
            if json { Output.json(r); return }
            let verb = r.preview ? "would" : "did"
            if let new = r.toTable {
                print("\(r.preview ? "would copy" : "copied") \(r.tables[0].rows.inserted) row(s) of \(r.tables[0].name) as of SCN \(r.scn) into the new table \(new)")
                return
            }
            for t in r.tables {
                print("\(t.name): \(t.rows.deleted) row(s) deleted, \(t.rows.inserted) inserted, \(t.rows.updated) changed back (\(verb) as of SCN \(r.scn))")
            }
            if !r.cascaded.isEmpty { print("tied by foreign keys and flashed back too: \(r.cascaded.joined(separator: ", "))") }
            print(r.preview ? "nothing changed (preview)" : "done in one transaction; triggers not fired")
        }
    }
}
