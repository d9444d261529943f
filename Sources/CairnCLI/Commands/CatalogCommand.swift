import ArgumentParser
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Work with the catalog kept in the repository.", subcommands: [Rebuild.self, Add.self])

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the control file from the repository (identity, catalog, backup manifests, archived logs).")

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var waiting: WaitOptions

        @Option(help: "With --repo s3://…: the DBID of the database, when the remote holds several.")
        var dbid: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            db.objectStore.apply()
            try reporting { () throws(EngineError) in
                let (_, r) = try db.repo.map(RemoteRepositoryReader.isRemote) == true
                    ? Catalog.rebuildFromRemote(database: db.database, url: db.repo!, dbid: dbid, repository: nil, logger: Logger(label: "cairn"), wait: waiting.policy())
                    : CatalogRebuilder.rebuild(database: db.database, repository: db.repo, logger: Logger(label: "cairn"), wait: waiting.policy())
                if json { Output.json(r); return }
                print("control file rebuilt for DBID \(r.dbid): \(r.backups) backup(s), \(r.logs) archived log(s), incarnation \(r.incarnation); capture resumes at SCN \(r.scn) behind a recorded gap — take a level-0 backup")
                for s in r.skipped { print("skipped: \(s)") }
            }
        }
    }
}
