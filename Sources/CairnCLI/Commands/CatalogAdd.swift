import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

extension CatalogCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a SQLite copy of the database made outside Cairn (e.g. with cp) as a verified image-copy backup.",
            discussion: "The copy is validated (SQLite header, the database's page size, whole pages) and its SCN found from the state checksums the logs record. A copy taken while the database was being written (torn pages) is made consistent by applying the logs from before the copy started. The result is stored in the repository as a level-0 image copy tagged cataloged:PATH; FILE itself is never changed.")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Argument(help: "The copy to register.")
        var file: String

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let r = try db.open(waiting).catalogCopy(file)
                if json { Output.json(r); return }
                let how = r.consistent
                    ? "a consistent copy at SCN \(r.scn)"
                    : "an inconsistent copy, made consistent by applying \(r.transactionsApplied) transaction(s) after SCN \(r.appliedFromScn ?? 0) through SCN \(r.scn)"
                print("cataloged \(r.source) as backup \(r.backupId) (image copy, level 0, incarnation \(r.incarnation)): \(how); \(r.pageCount) pages, state \(r.stateChecksum) verified")
            }
        }
    }
}
