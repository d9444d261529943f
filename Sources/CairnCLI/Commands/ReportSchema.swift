import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

extension Report {
    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the database's size, page size, tables and indexes (pages each), and how much of it each backup covers.",
            discussion: "Read through a read-only connection; nothing is written to the database.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let r = try db.open().schemaReport()
                if json { Output.json(r); return }
                print("\(r.database): \(Output.bytes(r.fileBytes)), \(r.pageCount) pages of \(r.pageSize) bytes, \(r.freePages) free")
                print("TYPE   PAGES     NAME (TABLE)")
                for o in r.objects {
                    let pages = o.pages.map(String.init) ?? "-"
                    print("\(o.type.padding(toLength: 6, withPad: " ", startingAt: 0)) \(pages.padding(toLength: 9, withPad: " ", startingAt: 0)) \(o.name)\(o.type == "index" ? " (\(o.table))" : "")")
                }
                if !r.pagesAvailable { print("(pages per table need SQLite's dbstat table, which this SQLite lacks)") }
                if r.backups.isEmpty { print("no backups"); return }
                print("ID    LVL  SCN         PAGES STORED  SHARE    STATUS     TAG")
                for b in r.backups {
                    print([String(b.id).padding(toLength: 5, withPad: " ", startingAt: 0),
                           String(b.level).padding(toLength: 4, withPad: " ", startingAt: 0),
                           String(b.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           String(b.pagesStored).padding(toLength: 13, withPad: " ", startingAt: 0),
                           String(format: "%.1f %%", b.share * 100).padding(toLength: 8, withPad: " ", startingAt: 0),
                           b.status.padding(toLength: 10, withPad: " ", startingAt: 0),
                           b.tag ?? ""].joined(separator: " "))
                }
            }
        }
    }
}
