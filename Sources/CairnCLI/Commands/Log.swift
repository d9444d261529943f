import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The captured transactions: list them, show what one changed.",
        subcommands: [LogList.self, LogShow.self, LogUndo.self])
}

struct LogList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Every captured transaction with its SCN, commit time, pages and the tables and indexes it wrote.",
        discussion: "Reads the logs (archived, online, or in archived-log backup sets) of the current incarnation's lineage. Tables are named by following each b-tree from a backup, so a history that starts before the oldest backup lists transactions without them. --since and --until take an SCN or an ISO 8601 time (the last transaction committed at or before it).")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "List transactions after this SCN or time.")
    var since: String?

    @Option(help: "List transactions up to and including this SCN or time.")
    var until: String?

    @Option(help: "Only transactions that wrote this table (or one of its indexes).")
    var table: String?

    @Flag(help: "Add the rows each transaction inserted, deleted and updated.")
    var rows = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let h = try db.open().history(since: try since.map(Self.bound), until: try until.map(Self.bound), table: table, rows: rows)
            if json { HistoryJSON.print(h); return }
            if let note = h.note { print("note: \(note)") }
            if h.entries.isEmpty { print("no transactions"); return }
            print("SCN         COMMITTED                 PAGES  WROTE")
            for e in h.entries {
                print(Self.line(e))
                if let r = e.rows { RowChangesText.lines(r, indent: "            ").forEach { print($0) } }
            }
        }
    }

    static func line(_ e: HistoryEntry) -> String {
        let time = Output.date(e.time) + (e.timeExact ? " " : "~")
        let scn = String(e.scn).padding(toLength: 11, withPad: " ", startingAt: 0)
        if e.kind == .gap { return "\(scn) \(time.padding(toLength: 25, withPad: " ", startingAt: 0)) GAP: changes here were never captured" }
        var wrote = (e.tables ?? []).joined(separator: ", ")
        if let idx = e.indexes, !idx.isEmpty { wrote += (wrote.isEmpty ? "" : "; ") + "indexes " + idx.joined(separator: ", ") }
        if e.tables == nil { wrote = "?" }
        return "\(scn) \(time.padding(toLength: 25, withPad: " ", startingAt: 0)) \(String(e.pages).padding(toLength: 6, withPad: " ", startingAt: 0)) \(wrote)"
    }

    /// An SCN (digits) or an ISO 8601 time.
    static func bound(_ text: String) throws(EngineError) -> HistoryBound {
        switch PointInTime.parse(text) {
        case .scn(let n): return .scn(n)
        case .time(let d): return .time(d)
        case .restorePoint: throw .invalidArgument("'\(text)' is neither an SCN nor an ISO 8601 time (e.g. 2026-11-21T14:01:00Z).")
        }
    }
}

struct LogShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "One transaction with the rows it inserted, deleted and updated (old and new values).")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "The transaction's SCN.")
    var scn: UInt64

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            let d = try db.open().transaction(scn)
            if json { Output.json(d); return }
            print("SCN         COMMITTED                 PAGES  WROTE")
            print(LogList.line(d.transaction))
            RowChangesText.lines(d.rows).forEach { print($0) }
        }
    }
}
