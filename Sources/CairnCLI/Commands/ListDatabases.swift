import ArgumentParser
import CairnFormats
import CairnEngines

extension List {
    struct Databases: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the databases whose repositories a remote holds (one folder per DBID).")

        @Option(help: "The remote: s3://BUCKET/PREFIX (endpoint and credentials from the AWS_* environment variables), or a directory.")
        var repo: String

        @Flag(help: "Print JSON: an array of databases.")
        var json = false

        @OptionGroup var objectStore: ObjectStoreOptions
        @OptionGroup var encryption: EncryptionOptions

        func run() throws {
            objectStore.apply()
            try reporting { () throws(EngineError) in
                let rows = try RemoteRepositoryReader.databases(at: repo)
                if json { Output.json(rows); return }
                if rows.isEmpty { print("no Cairn repository under \(repo)"); return }
                print("DBID                  DATABASE                        BACKUPS  LATEST")
                for r in rows {
                    let latest = !r.catalogReadable
                        ? (r.encrypted ? "encrypted: give --encryption-key-file to read its catalog" : "its catalog cannot be read")
                        : r.latestBackupId.map { "backup \($0) at SCN \(r.latestBackupScn ?? 0), \(r.latestBackupAt.map(Output.date) ?? "")" } ?? "none"
                    print([r.dbid.padding(toLength: 21, withPad: " ", startingAt: 0),
                           (r.databasePath ?? r.databaseName).padding(toLength: 31, withPad: " ", startingAt: 0),
                           String(r.backups).padding(toLength: 8, withPad: " ", startingAt: 0), latest].joined(separator: " "))
                }
            }
        }
    }
}
