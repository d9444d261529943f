import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

extension Report {
    struct NeedBackup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "need-backup",
            abstract: "Say whether the database needs a backup: by the retention policy, or by the age of the newest backup.",
            discussion: "Redundancy N: fewer than N restorable level-0 backups. Window D days: no restorable level-0 backup old enough to recover to any point of the last D days. --days N: the newest backup is older than N days, or there is none. A gap after the newest level-0 backup always makes one needed. Exits 0 either way.")

        @OptionGroup var db: DatabaseOptions

        @Option(help: "Judge by the age of the newest backup instead of the retention policy: needed when older than this many days.")
        var days: Double?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                if let days, !(days >= 0) { throw .invalidArgument("--days \(days) must be a number of days, 0 or more.") }
                let r = try db.open().needBackup(days: days)
                if json { Output.json(r); return }
                print("backup needed: \(r.needed ? "yes" : "no") (\(r.rule))")
                for reason in r.reasons { print("  \(reason)") }
            }
        }
    }
}
