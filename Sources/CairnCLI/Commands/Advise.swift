import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

struct Advise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the failures of a protected database (the recovery advisor), worst first, each with manual steps and the automatic repair `cairn repair` runs.",
        discussion: """
        Every checker runs: the live database (missing, not SQLite, not in WAL mode, WAL deleted), capture (not \
        running in ARCHIVELOG mode), the control-file copies (missing, stale, damaged), the online log members \
        (stale, missing), the archive destinations (unreachable, full), the archived logs (missing, damaged, a hole \
        in the sequence), gaps, backups (EXPIRED, failed periodic integrity check, none for the retention policy) and \
        the recovery area (85 % of its limit). Damaged pages of the live database are found by \
        `cairn validate DB --live` (or `advise --live`) and listed here. Failures are kept in the control file: a \
        failure found again keeps its id; one no longer found is closed, with when and by what (`--all`).
        Advise reads the control file, stats files and reads the database's 100-byte header, never its pages.

        Exit status: 0 when no failure of priority high or critical is open (healthy, or low ones only), \
        \(AdviseExit.high) when the worst open failure is high, \(AdviseExit.critical) when one is critical; \
        the usual error statuses (1–6, 64, 75) when advise itself could not run.
        """)

    @OptionGroup var db: DatabaseOptions

    @Flag(help: "Also show the closed failures, with when and by what they were closed.")
    var all = false

    @Flag(help: "Also check the pages of the live database first (as `cairn validate DB --live`).")
    var live = false

    @Flag(help: "Print JSON: the open failures with their repair options, and the closed ones.")
    var json = false

    func run() throws {
        var worst: Failure.Priority?
        try reporting { () throws(EngineError) in
            let r = try db.open().advise(includeLive: live)
            worst = r.worst
            if json {
                Output.json(AdviseJSON(report: r, all: all))
                return
            }
            print(Self.text(r, all: all))
        }
        if let code = AdviseExit.status(worst) { throw ExitCode(code) }
    }

    static func text(_ r: AdvisorReport, all: Bool) -> String {
        var lines: [String] = []
        if r.open.isEmpty { lines.append("no open failure: \(r.database) is healthy") }
        for a in r.open {
            let f = a.failure
            lines.append("failure \(f.id)  \(f.priority.rawValue.uppercased())  \(f.status.rawValue)  [\(f.checker)]  \(f.summary)")
            lines.append("  affected: \(f.affected)")
            lines.append("  detected: \(Output.date(f.detectedAt)), last seen \(Output.date(f.lastSeenAt))")
            if let pages = f.pages, !pages.isEmpty { lines.append("  pages: \(pages.map(String.init).joined(separator: ", "))") }
            for step in a.repair?.manual ?? [] { lines.append("  manual: \(step)") }
            if let auto = a.repair?.automatic {
                lines.append("  automatic (`cairn repair \(r.database) --failure \(f.id)`): \(auto.description)")
            } else if let why = a.repair?.noAutomatic {
                lines.append("  automatic: none — \(why)")
            }
        }
        if all {
            for f in r.closed {
                let when = f.closedAt.map(Output.date) ?? "?"
                lines.append("failure \(f.id)  \(f.priority.rawValue.uppercased())  closed  [\(f.checker)]  \(f.summary)")
                lines.append("  detected \(Output.date(f.detectedAt)), closed \(when) by \(f.closedBy ?? "?")")
            }
        }
        let counts = Failure.Priority.allCases.map { p in "\(r.open.filter { $0.failure.priority == p }.count) \(p.rawValue)" }
        lines.append("\(r.open.count) open failure(s): " + counts.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// What `cairn advise --json` prints: the report, without the closed failures unless `--all`.
struct AdviseJSON: Encodable {
    let report: AdvisorReport
    let all: Bool

    private enum CodingKeys: String, CodingKey { case database, checkedAt, worst, open, closed }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(report.database, forKey: .database)
        try c.encode(report.checkedAt, forKey: .checkedAt)
        try c.encodeIfPresent(report.worst, forKey: .worst)
        try c.encode(report.open, forKey: .open)
        if all { try c.encode(report.closed, forKey: .closed) }
    }
}

/// `cairn advise`'s exit statuses by the worst open failure, away from the error statuses
/// (see `ExitStatus`) so that a monitor tells "healthy" from "high" from "critical" from "could not check".
enum AdviseExit {
    static let high: Int32 = 10
    static let critical: Int32 = 11

    static func status(_ worst: Failure.Priority?) -> Int32? {
        switch worst {
        case .critical?: return critical
        case .high?: return high
        case .low?, nil: return nil
        }
    }
}
