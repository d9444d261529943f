import ArgumentParser
import Foundation
import CairnFormats
import CairnEngines

extension List {
    struct Dropped: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tables dropped by captured transactions (`cairn undrop` brings one back).")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: an array of dropped tables.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let dropped = try db.open().droppedTables()
                if json { Output.json(dropped); return }
                if dropped.isEmpty { print("no dropped tables in the captured history"); return }
                print("TABLE                 SCN         DROPPED                   ROWS")
                for d in dropped {
                    print([d.name.padding(toLength: 21, withPad: " ", startingAt: 0),
                           String(d.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           (Output.date(d.time) + (d.timeExact ? "" : "~")).padding(toLength: 25, withPad: " ", startingAt: 0),
                           d.rows.map(String.init) ?? "?"].joined(separator: " "))
                }
            }
        }
    }
}

struct Undrop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recreate a dropped table as it was just before the drop, in the live database.",
        discussion: "Columns, rows (with their rowids), indexes and triggers come back as one transaction beside the application. The drop undone is the newest of that name unless --scn names one (see `cairn list dropped`).")

    @OptionGroup var db: DatabaseOptions

    @Argument(help: "The dropped table.")
    var table: String

    @OptionGroup var waiting: WaitOptions

    @Option(help: "The SCN of the drop to undo (default: the newest drop of that name).")
    var scn: UInt64?

    @Option(help: "Give the table this name (when another table has its name now).")
    var rename: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let r = try db.open(waiting).undrop(table, scn: scn, rename: rename)
            if json { Output.json(r); return }
            print("table \(r.table) dropped at SCN \(r.droppedAt) recreated as \(r.createdAs): \(r.rows) row(s), \(r.indexes.count) index(es), \(r.triggers.count) trigger(s), in one transaction")
            for n in r.notes { print("note: \(n)") }
        }
    }
}
