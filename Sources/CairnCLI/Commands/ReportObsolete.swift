import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

extension Report {
    struct Obsolete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the backups, archived logs and automatic snapshots the retention policy no longer needs (`cairn delete obsolete` removes them).")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON: the policy, the oldest backup kept, and the obsolete backups and logs with reasons.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let r = try db.open().obsolete()
                if json { Output.json(r); return }
                print("retention \(r.retention)" + (r.floorBackupId.map { ": oldest backup kept is \($0) (SCN \(r.floorScn ?? 0), incarnation \(r.floorIncarnation ?? 0))" } ?? ""))
                if r.isEmpty { print("nothing is obsolete"); return }
                for b in r.backups {
                    print("backup \(b.id)  \(b.kind) level \(b.level), SCN \(b.scn), \(Output.bytes(b.bytes)): \(b.reason)")
                }
                for l in r.logs {
                    print("log sequence \(l.sequence) (incarnation \(l.incarnation), SCN \(l.lowScn)-\(l.highScn)), \(l.copies.count) cop(ies), \(Output.bytes(l.bytes)): \(l.reason)")
                }
                for s in r.snapshots {
                    print("snapshot \(s.name)  \(Output.bytes(s.bytes)): \(s.reason)")
                }
                let snapshots = r.snapshots.isEmpty ? "" : ", \(r.snapshots.count) snapshot(s)"
                print("\(r.backups.count) backup(s) and \(r.logs.count) log(s)\(snapshots) obsolete, \(Output.bytes(r.bytes))")
            }
        }
    }
}
