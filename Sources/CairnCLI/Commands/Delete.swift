import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete backups and archived logs by what Cairn knows of them.", subcommands: [Obsolete.self, Expired.self])

    /// Prints what a deletion did; true when something could not be deleted.
    static func show(_ r: DeletionReport, json: Bool, what: String) -> Bool {
        if json { Output.json(r); return !r.failures.isEmpty }
        for id in r.backups { print("deleted backup \(id)") }
        for c in r.logCopies { print("deleted log sequence \(c.sequence) (incarnation \(c.incarnation)) from \(c.destination)") }
        for name in r.snapshots { print("deleted snapshot \(name)") }
        for k in r.logsDropped { print("log sequence \(k.sequence) (incarnation \(k.incarnation)) has no copy left; its record was removed") }
        for f in r.failures { print("not deleted: \(f)") }
        print(r.isEmpty && r.failures.isEmpty ? "nothing \(what) to delete"
              : "\(r.backups.count) backup(s) and \(r.logCopies.count) archived-log cop(ies)\(r.snapshots.isEmpty ? "" : ", \(r.snapshots.count) snapshot(s)") deleted, \(Output.bytes(r.bytes)) freed")
        return !r.failures.isEmpty
    }
}
