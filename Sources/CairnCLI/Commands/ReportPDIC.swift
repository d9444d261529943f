import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

extension Report {
    struct PDIC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pdic",
            abstract: "Show the periodic integrity check: each backup set's check day (its id mod 5: Monday..Friday), last check, next due time and result.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let p = try db.open()
                let rows = p.integrityCheckReport()
                if json { Output.json(rows); return }
                print("time zone: \(p.integrityCheckSchedule.timeZone.identifier)")
                if rows.isEmpty { print("no backup set to check"); return }
                let f = ISO8601DateFormatter()
                f.timeZone = p.integrityCheckSchedule.timeZone
                for r in rows {
                    let last = r.lastCheckedAt.map { f.string(from: $0) } ?? "never"
                    print("backup \(r.id)  \(r.weekday.padding(toLength: 9, withPad: " ", startingAt: 0))  last \(last)  next \(f.string(from: r.nextDue))  \(r.result)\(r.restored ? " (restored)" : "")")
                }
            }
        }
    }
}
