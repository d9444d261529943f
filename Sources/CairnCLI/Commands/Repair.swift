import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

/// `cairn repair`: the automatic repairs of the recovery advisor's failures.
struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Repair what the recovery advisor found (`cairn repair DB`), or damaged pages of the live database (`cairn repair pages DB`).",
        subcommands: [RepairDatabase.self, RepairPages.self], defaultSubcommand: RepairDatabase.self)
}

struct RepairDatabase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database",
        abstract: "Run the automatic repair of one failure (--failure ID) or of every open failure that has one, critical first; each result is verified by running the checkers again, and the failures it fixed are closed.",
        discussion: """
        With --preview nothing is changed: each repair is described (which backup, which logs, which copy it would use). \
        A failure with no automatic repair is an error naming its manual steps; without --failure such failures are \
        listed with theirs. Exit status: 0 when every repair ran and was verified; 1 when a repair failed or left its \
        failure open; the usual error statuses otherwise (64 for an unknown or closed failure id).
        """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "The id of the failure to repair (see `cairn advise DB`); default: every open failure with an automatic repair.")
    var failure: UInt64?

    @Flag(help: "Say what would be done, change nothing.")
    var preview = false

    @Flag(help: "Print JSON: each repair with its plan, result and whether it was verified, and the failures left to manual steps.")
    var json = false

    func run() throws {
        var ok = true
        try reporting { () throws(EngineError) in
            let r = try db.open(waiting).repair(failure: failure, preview: preview)
            ok = r.succeeded
            if json { Output.json(r); return }
            print(Self.text(r))
        }
        if !ok { throw ExitCode(1) }
    }

    static func text(_ r: RepairReport) -> String {
        var lines: [String] = []
        for i in r.items {
            lines.append("failure \(i.failure)  \(i.priority.rawValue.uppercased())  [\(i.checker)]  \(i.summary)")
            if r.preview {
                lines.append("  would \(i.action): \(i.plan)")
                continue
            }
            lines.append("  \(i.action): \(i.plan)")
            if let e = i.error { lines.append("  FAILED: \(e)") }
            if let done = i.result { lines.append("  done: \(done)") }
            if let fixed = i.fixed {
                lines.append(fixed ? "  verified: the failure is closed" : "  NOT FIXED: the checker still finds it (see `cairn advise`)")
            }
            if !i.alsoClosed.isEmpty { lines.append("  also closed: failure(s) \(i.alsoClosed.map(String.init).joined(separator: ", "))") }
        }
        for m in r.manual {
            lines.append("failure \(m.failure)  \(m.priority.rawValue.uppercased())  \(m.summary)")
            lines.append("  no automatic repair: \(m.why)")
            for s in m.steps { lines.append("  manual: \(s)") }
        }
        if r.items.isEmpty && r.manual.isEmpty { lines.append("no open failure: nothing to repair") }
        else if r.items.isEmpty { lines.append("no failure can be repaired automatically") }
        return lines.joined(separator: "\n")
    }
}
