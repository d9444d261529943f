import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Flashback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewind the live database, or tables of it, to an earlier point.",
        subcommands: [FlashbackDatabase.self, FlashbackTable.self],
        defaultSubcommand: FlashbackDatabase.self)
}

/// The point options shared by the flashback commands.
struct PointOptions: ParsableArguments {
    @Option(help: "Right after this SCN committed.")
    var scn: UInt64?

    @Option(help: "The last transaction committed at or before this time (ISO 8601).")
    var time: String?

    @Option(name: .customLong("restore-point"), help: "The SCN of this restore point.")
    var restorePoint: String?

    @Option(help: "The point is on this incarnation's lineage (a branch left by a flashback or an in-place restore); default: the current incarnation's.")
    var incarnation: Int?

    func point() throws(EngineError) -> PointInTime {
        let given = [scn != nil, time != nil, restorePoint != nil].filter { $0 }.count
        guard given == 1 else { throw .invalidArgument("Give exactly one of --scn, --time or --restore-point.") }
        if let scn { return .scn(scn) }
        if let restorePoint { return .restorePoint(restorePoint) }
        return .time(try Self.time(time!))
    }

    /// A `--time` value: an ISO 8601 time, with or without fractional seconds.
    static func time(_ text: String) throws(EngineError) -> Date {
        guard case .time(let d) = PointInTime.parse(text) else {
            throw .invalidArgument("--time '\(text)' is not an ISO 8601 time; use e.g. 2026-11-21T14:01:00Z.")
        }
        return d
    }
}

struct FlashbackDatabase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database",
        abstract: "Rewind the live database to a point by rewriting only the pages changed since.",
        discussion: "The pages are rewritten as one SQLite transaction through the database's WAL: after a crash at any moment the database is as it was, or at the point. No other process may have the database open (stop the application and any `cairn archive --follow`). Everything committed is captured and archived first; a new incarnation starts at the point. The branch left behind stays in the archived logs: flash back to its last SCN with --incarnation (printed at the end) to undo.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions
    @OptionGroup var at: PointOptions

    @Flag(help: "Say what would be rewritten; change nothing.")
    var preview = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let r = try p.flashback(to: try at.point(), incarnation: at.incarnation, preview: preview)
            if json { Output.json(r); return }
            if r.preview {
                print("flashback of \(p.databasePath) to SCN \(r.scn) would rewrite \(r.pages) page(s) (database of \(r.databasePages) pages); nothing changed")
                return
            }
            print("flashed \(p.databasePath) back to SCN \(r.scn): \(r.pages) page(s) rewritten in one transaction, database of \(r.databasePages) pages, state verified; incarnation \(r.incarnation ?? 0) starts there")
            print("left behind: incarnation \(r.fromIncarnation) up to SCN \(r.from), kept in the archived logs; to undo: cairn flashback \(p.databasePath) --incarnation \(r.fromIncarnation) --scn \(r.from)")
        }
    }
}
