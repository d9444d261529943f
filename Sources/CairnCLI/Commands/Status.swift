import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what Cairn knows of a database.")

    @OptionGroup var db: DatabaseOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let s = try db.open().redoStatus
            if json { Output.json(s); return }
            print("database     \(s.database)")
            print("DBID         \(s.dbid)")
            print("incarnation  \(s.incarnation)")
            print("mode         \(s.mode)" + (s.captureRunning ? ", capture running (process \(s.capturePid.map(String.init) ?? "?"))" : ", capture not running"))
            let recoverable = s.recoverableScn.map { "\($0) recoverable" + (s.recoverableFromBackup.map { " (from backup \($0))" } ?? "") } ?? "nothing recoverable"
            print("SCN          \(s.capturedScn) captured, \(s.archivedScn) archived, \(recoverable); log sequence \(s.sequence)")
            if let f = s.recoveryShortfall { print("recovery     stops short: \(f.summary)") }
            print("repository   \(s.repository)")
            for g in s.gaps { print("GAP          at SCN \(g.scn) (incarnation \(g.incarnation)): \(g.detail)") }
            print("backups      \(s.backups)" + (s.lastBackupId.map { ", latest \($0) at SCN \(s.lastBackupScn ?? 0)" } ?? ""))
            for c in s.controlCopies { print("control file \(c)") }
            for r in s.remotes { print("remote       \(RemoteText.line(r))") }
            if !s.objectRequests.isEmpty {
                print("requests     " + s.objectRequests.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + " (object storage, so far)")
            }
            for w in s.warnings { print("warning      \(w)") }
        }
    }
}
