import ArgumentParser
import Foundation
import CairnFormats
import CairnEngines

struct LogUndo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo",
        abstract: "Undo one transaction: apply the inverse of its row changes as one new transaction.",
        discussion: "Rows it inserted are deleted, rows it deleted come back with their rowids, rows it updated get their old values, in one transaction beside the application; triggers do not fire. Refused, listing them, when any of those rows changed since, and for a transaction that changed the schema.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "The transaction to undo (`cairn log list`).")
    var scn: UInt64

    @Flag(help: "Count the rows that would change; change nothing.")
    var preview = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let r = try db.open(waiting).undo(scn, preview: preview)
            if json { Output.json(r); return }
            for t in r.tables {
                print("\(t.name): \(t.rows.deleted) inserted row(s) deleted, \(t.rows.inserted) deleted row(s) put back, \(t.rows.updated) updated row(s) set back")
            }
            print(r.preview ? "nothing changed (preview)" : "transaction \(r.scn) undone in one new transaction; triggers not fired")
        }
    }
}
