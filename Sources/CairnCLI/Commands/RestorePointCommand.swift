import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct RestorePointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-point",
        abstract: "Name the newest committed point to return to later (`cairn restore DB --restore-point NAME`).",
        discussion: """
        cairn restore-point DB create NAME [--guarantee]   name the newest committed SCN; a guaranteed point keeps every
                                                           backup and log needed to reach it, whatever retention says
        cairn restore-point DB list [--json]
        cairn restore-point DB drop NAME                   a guaranteed point's files become subject to retention again
        """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Argument(help: "create, list or drop.")
    var action: String

    @Argument(help: "Name of the restore point (letters, digits, . _ -).")
    var name: String?

    @Flag(help: "Keep every file needed to reach the point (create).")
    var guarantee = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            switch action {
            case "create":
                guard let name else { throw .invalidArgument("Usage: cairn restore-point DB create NAME [--guarantee]") }
                let p = try db.open(waiting)
                let rp = try p.createRestorePoint(name, guarantee: guarantee)
                if json { Output.json(p.restorePoints().first { $0.name == rp.name }); return }
                print("restore point \(rp.name) created at SCN \(rp.scn) (incarnation \(rp.incarnation))" + (rp.guaranteed ? ", guaranteed" : ""))
            case "list":
                guard name == nil, !guarantee else { throw .invalidArgument("Usage: cairn restore-point DB list [--json]") }
                let points = try db.open().restorePoints()
                if json { Output.json(points); return }
                if points.isEmpty { print("no restore points"); return }
                print("NAME                 SCN         INC  CREATED               GUARANTEED  BACKUP")
                for r in points {
                    print([r.name.padding(toLength: 20, withPad: " ", startingAt: 0),
                           String(r.scn).padding(toLength: 11, withPad: " ", startingAt: 0),
                           String(r.incarnation).padding(toLength: 4, withPad: " ", startingAt: 0),
                           Output.date(r.createdAt).padding(toLength: 21, withPad: " ", startingAt: 0),
                           (r.guaranteed ? "yes" : "no").padding(toLength: 11, withPad: " ", startingAt: 0),
                           (r.backupId.map(String.init) ?? "-") + (r.onCurrentLineage ? "" : "  (not on the current lineage)")].joined(separator: " "))
                }
            case "drop":
                guard let name, !guarantee else { throw .invalidArgument("Usage: cairn restore-point DB drop NAME") }
                try db.open(waiting).dropRestorePoint(name)
                if json { Output.json(["dropped": name]); return }
                print("restore point \(name) dropped")
            default:
                throw .invalidArgument("Unknown action '\(action)': use create, list or drop (see `cairn restore-point --help`).")
            }
        }
    }
}
