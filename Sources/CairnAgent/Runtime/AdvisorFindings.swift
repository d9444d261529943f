import Foundation
import Synchronization
import CairnCatalog
import CairnEngines

/// What the recovery advisor's checkers find for each database (`cairn advise` without
/// recording), looked at again every `period` per database (`criticalPeriod` while a critical
/// finding stands) and for a few databases per pass, so 500 databases cost an idle agent next
/// to nothing. The checkers whose ground the agent covers itself, as it happens (gaps,
/// capture, the recovery area's warnings), are left out: the snapshot names those already.
final class AdvisorFindings: Sendable {
    static let defaultPeriod: TimeInterval = 300
    let period: TimeInterval
    static let perPass = 4
    static let coveredByAgent: Set<String> = ["gaps", "capture", "recovery-area"]

    /// How soon a database with a critical finding is looked at again: `/healthz` fails while
    /// it stands, so one that resolved itself must not linger for a whole `period`.
    static let criticalPeriod: TimeInterval = 15

    private struct Entry {
        let at: Date
        let findings: [Finding]

        func isDue(now: Date, period: TimeInterval) -> Bool {
            let critical = findings.contains { $0.priority == .critical }
            return now.timeIntervalSince(at) >= (critical ? min(period, AdvisorFindings.criticalPeriod) : period)
        }
    }

    private let entries = Mutex<[String: Entry]>([:])

    init(period: TimeInterval = AdvisorFindings.defaultPeriod) { self.period = period }

    /// The findings last seen for `path` (none before the first look).
    func findings(_ path: String) -> [Finding] { entries.withLock { $0[path]?.findings ?? [] } }

    /// Looks again at the databases whose findings are the oldest (never looked at first), at
    /// most `perPass` of them.
    func refresh(_ catalogs: [(path: String, catalog: Catalog)], now: Date) {
        let due = entries.withLock { e in
            catalogs.filter { e[$0.path].map { $0.isDue(now: now, period: period) } ?? true }
                .sorted { (e[$0.path]?.at ?? .distantPast) < (e[$1.path]?.at ?? .distantPast) }
                .prefix(Self.perPass)
        }
        for (path, catalog) in due {
            let found = catalog.advisorFindings(now: now, leavingOut: Self.coveredByAgent).map { checker, f in
                Finding(priority: Finding.Priority(rawValue: f.priority.rawValue) ?? .high,
                        summary: "\(f.summary) (advisor: \(checker); see `cairn advise \(catalog.databasePath)`)")
            }
            entries.withLock { $0[path] = Entry(at: now, findings: found) }
        }
    }

    func forget(_ path: String) { _ = entries.withLock { $0.removeValue(forKey: path) } }
}
