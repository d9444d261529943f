import ArgumentParser
import CairnCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what Cairn knows of a database.")

    @OptionGroup var db: DatabaseOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(CairnError) in
            let s = try db.open().status
            if json { Output.json(s); return }
            print("database     \(s.database)")
            print("DBID         \(s.dbid)")
            print("incarnation  \(s.incarnation)")
            print("SCN          \(s.scn)")
            print("repository   \(s.repository)")
            print("backups      \(s.backups)" + (s.lastBackupId.map { ", latest \($0) at SCN \(s.lastBackupScn ?? 0)" } ?? ""))
            for c in s.controlCopies { print("control file \(c)") }
            for w in s.warnings { print("warning      \(w)") }
        }
    }
}
