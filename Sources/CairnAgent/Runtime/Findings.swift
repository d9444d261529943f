import Foundation
import CairnCatalog
import CairnEngines

/// What is wrong with a database, ranked as the recovery advisor ranks failures: critical (a
/// restore cannot reach what was committed), high (protection is degraded), low (worth a look).
enum Findings {
    static func of(_ c: ControlFile, reach: RecoveryReach, warnings: [String], remotes: [RemoteSnapshot]) -> [Finding] {
        var out: [Finding] = []
        let base = c.restorableBackups.filter { $0.level == 0 && $0.incarnation == c.incarnation }.map(\.scn).max() ?? 0
        for g in c.redo.gaps where g.incarnation == c.incarnation {
            if g.scn > base {
                out.append(Finding(priority: .critical, summary: "gap at SCN \(g.scn): \(g.detail); nothing after it can be restored until a level-0 backup starts a new chain (the agent takes one)"))
            } else {
                out.append(Finding(priority: .low, summary: "gap at SCN \(g.scn) (before the newest level-0 backup): a point-in-time restore cannot reach between SCN \(g.scn - 1) and that backup"))
            }
        }
        if let stop = c.redo.captureStopped {
            out.append(Finding(priority: .critical, summary: "capture stopped at SCN \(stop.scn): \(stop.detail)"))
        }
        if let f = reach.shortfall, f.cause != .gap {
            out.append(Finding(priority: f.cause == .noBackup ? .high : .critical, summary: f.summary))
        }
        for r in remotes where r.lastError != nil {
            out.append(Finding(priority: .high, summary: "remote \(r.url) is \(r.logsBehind) log(s) and \(r.backupsBehind) backup(s) behind: \(r.lastError!)"))
        }
        out += warnings.map { Finding(priority: .low, summary: $0) }
        // Damage in the live database that validation recorded: nothing else here finds it, and
        // it stays open until a repair or a later validation closes it.
        for f in c.failures ?? [] where f.status == .open && Self.recordedOnly.contains(f.checker) {
            out.append(Finding(priority: Finding.Priority(rawValue: f.priority.rawValue) ?? .high,
                               summary: "failure \(f.id) (\(f.checker)): \(f.summary); see `cairn advise \(c.databasePath)`"))
        }
        return out
    }

    /// The advisor's checkers whose failures only `cairn validate --live` records.
    static let recordedOnly: Set<String> = [Catalog.livePagesChecker, Catalog.logicalChecker]
}
