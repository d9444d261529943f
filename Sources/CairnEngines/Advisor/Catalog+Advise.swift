import Foundation
import CairnFormats
import CairnCatalog

/// The recovery advisor (`cairn advise`): runs every checker, keeps what they found in the
/// control file's failure log (a failure found again stays the same failure; one no longer
/// found is closed), and lists the open failures with their repair options.
extension Catalog {
    /// Runs every checker and records their findings in one control-file update (none when
    /// nothing was found and nothing is open). Reads the control file and the copies of it,
    /// `stat`s files and reads the 100-byte header of the database (never its pages). Failures of the "live-pages" checker are recorded by
    /// `cairn validate --live`: they are listed as they are, and checked again only with
    /// `includeLive`.
    package func advise(now: Date = Date(), includeLive: Bool = false) throws(EngineError) -> AdvisorReport {
        if includeLive { try adviseLivePages() }
        let ctx = AdvisorContext(catalog: self, now: now)
        let log = try recordFindings(ctx) { _ in "no longer found by advise" }
        return report(log, ctx)
    }

    /// `advise --live`: validates the live database's pages, which records what it finds as
    /// "live-pages" failures.
    func adviseLivePages() throws(EngineError) {
        _ = try validateLive()
    }

    /// Runs the checkers (but "live-pages") and merges what each found into the failure log,
    /// in one update. The control-file copies are checked under the update's lock, and a copy
    /// found damaged is left as it is (rewriting it is the repair's job). Failures no longer
    /// found are closed, `closedBy` saying by what (given each one's id). Returns the log as written.
    func recordFindings(_ ctx: AdvisorContext, closedBy: (UInt64) -> String) throws(EngineError) -> FailureLog {
        let found = Self.runCheckers(ctx)
        let now = ctx.now
        // Nothing found and nothing open (a healthy database): nothing to write.
        let before = FailureLog(ctx.control)
        var merged = before
        for (name, findings) in found + [(ControlCopiesChecker.checkerName, ControlCopiesChecker.inspect(ctx.control.controlCopies).map(\.finding))] {
            merged.merge(checker: name, found: findings, at: now)
        }
        if merged == before { return before }
        var damagedCopies = Set<String>()
        let leavingAside = { damagedCopies }
        return try transact(leavingAside: leavingAside) { (c: inout ControlFile) throws(EngineError) -> FailureLog in
            let copies = ControlCopiesChecker.inspect(c.controlCopies)
            damagedCopies = Set(copies.map(\.path))
            var log = FailureLog(c)
            let wasOpen = Set(log.open.map(\.id))
            for (name, findings) in found + [(ControlCopiesChecker.checkerName, copies.map(\.finding))] {
                log.merge(checker: name, found: findings, at: now)
            }
            for i in log.failures.indices where log.failures[i].status == .closed && wasOpen.contains(log.failures[i].id) {
                log.failures[i].closedBy = closedBy(log.failures[i].id)
            }
            log.store(into: &c)
            return log
        }
    }

    /// What every checker but "control-copies" (checked under the lock) and "live-pages"
    /// (recorded by `validate --live`) finds now. A checker that finds something looks again
    /// with the control file read afresh, and only what both looks found counts: a capture
    /// reusing a log group or a deletion between the control file being read and a file being
    /// looked at is not a failure.
    static func runCheckers(_ ctx: AdvisorContext) -> [(String, [FailureFinding])] {
        let checkers = Checkers.all.filter { ![ControlCopiesChecker.checkerName, LivePagesChecker.checkerName, LogicalIntegrityChecker.checkerName].contains($0.name) }
        let first = checkers.map { $0.findings(ctx) }
        guard first.contains(where: { !$0.isEmpty }) else { return checkers.map { ($0.name, []) } }
        let again = AdvisorContext(catalog: ctx.catalog, now: ctx.now)
        return zip(checkers, first).map { checker, found in
            guard !found.isEmpty else { return (checker.name, []) }
            let keys = Set(found.map(\.key))
            return (checker.name, checker.findings(again).filter { keys.contains($0.key) })
        }
    }

    /// What the advisor's checkers find now (but those of `leavingOut`, and "live-pages" and
    /// "logical-integrity", which validation records), without recording anything: what the
    /// agent shows beside what it sees itself.
    package func advisorFindings(now: Date = Date(), leavingOut: Set<String> = []) -> [(checker: String, finding: FailureFinding)] {
        currentFindings(AdvisorContext(catalog: self, now: now))
            .filter { !leavingOut.contains($0.0) }
            .flatMap { name, found in found.map { (name, $0) } }
    }

    /// The findings of every checker (but "live-pages"), without recording them.
    func currentFindings(_ ctx: AdvisorContext) -> [(String, [FailureFinding])] {
        Self.runCheckers(ctx) + [(ControlCopiesChecker.checkerName, ControlCopiesChecker.inspect(ctx.control.controlCopies).map(\.finding))]
    }

    /// The report of `log`: open failures worst first with their repair options, closed ones
    /// most recently closed first.
    func report(_ log: FailureLog, _ ctx: AdvisorContext) -> AdvisorReport {
        let open = log.open.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }
        let closed = log.failures.filter { $0.status == .closed }
            .sorted { ($0.closedAt ?? .distantPast, $0.id) > ($1.closedAt ?? .distantPast, $1.id) }
        return AdvisorReport(database: databasePath, checkedAt: ctx.now,
                             open: open.map { AdvisedFailure(failure: $0, repair: options(for: $0, ctx)) }, closed: closed)
    }

    /// How failure `f` can be repaired now.
    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        guard let checker = Checkers.named(f.checker) else {
            return .manualOnly(["Run `cairn advise \(databasePath)` with the release of Cairn that recorded this failure."],
                               because: "checker \(f.checker) is unknown to this release of Cairn")
        }
        return checker.options(for: f, ctx)
    }
}
