import Foundation
import CairnFormats
import CairnCatalog

/// `cairn repair`: runs the automatic repair of a failure (or of every open failure that has
/// one, critical first), verifies the result by running the checkers again, and closes the
/// failures it fixed, saying by what.
extension Catalog {
    package func repair(failure id: UInt64? = nil, preview: Bool = false, now: Date = Date()) throws(EngineError) -> RepairReport {
        let ctx = AdvisorContext(catalog: self, now: now)
        // A preview records nothing: the failure log as it would be, kept in memory.
        let log = preview ? previewLog(ctx) : try recordFindings(ctx) { _ in "no longer found by repair" }
        let targets = try repairTargets(log, id: id)
        var report = RepairReport(preview: preview)
        var closed = Set<UInt64>()
        var ran: [String: UInt64] = [:]
        for f in targets where !closed.contains(f.id) {
            let opts = options(for: f, preview ? ctx : AdvisorContext(catalog: self, now: now))
            guard let auto = opts.automatic else {
                let why = opts.noAutomatic ?? "no automatic repair exists"
                if id != nil { throw Self.noAutomaticRepair(f, why: why, steps: opts.manual) }
                report.manual.append(.init(failure: f.id, priority: f.priority, summary: f.summary, why: why, steps: opts.manual))
                continue
            }
            var item = RepairReport.Item(failure: f.id, checker: f.checker, priority: f.priority, summary: f.summary,
                                         action: auto.action, plan: auto.description)
            if preview {
                report.items.append(item)
                continue
            }
            let key = auto.identity
            if let earlier = ran[key] {
                item.error = "the same repair already ran for failure \(earlier) and did not fix this one; follow the manual steps: " + opts.manual.joined(separator: " ")
                report.items.append(item)
                continue
            }
            ran[key] = f.id
            do throws(EngineError) {
                let done = try auto.run()
                item.result = done
                let repaired = f.id
                let after = try recordFindings(AdvisorContext(catalog: self, now: now)) { closedId in
                    closedId == repaired ? "repair (automatic): \(done)" : "no longer found after the repair of failure \(repaired) (\(done))"
                }
                let nowClosed = Set(after.failures.filter { $0.status == .closed }.map(\.id))
                let before = Set(log.failures.filter { $0.status == .closed }.map(\.id)).union(closed)
                item.fixed = nowClosed.contains(f.id)
                item.alsoClosed = nowClosed.subtracting(before).subtracting([f.id]).sorted()
                closed.formUnion(nowClosed)
            } catch {
                if id != nil { throw error }
                item.error = error.description
            }
            report.items.append(item)
        }
        return report
    }

    /// The failures to repair: `id` (which must be open), or every open one, worst first.
    private func repairTargets(_ log: FailureLog, id: UInt64?) throws(EngineError) -> [Failure] {
        guard let id else { return log.open.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) } }
        guard let f = log.failures.first(where: { $0.id == id }) else {
            let known = log.failures.map(\.id)
            let range = known.min().flatMap { lo in known.max().map { "recorded ids are \(lo)–\($0)" } } ?? "none is recorded"
            throw .invalidArgument("No failure \(id) is recorded for \(databasePath) (\(range)). Run `cairn advise \(databasePath) --all` to see every failure with its id.")
        }
        guard f.status == .open else {
            let when = f.closedAt.map { " on \(ISO8601DateFormatter().string(from: $0))" } ?? ""
            throw .invalidArgument("Failure \(id) (\(f.summary)) is closed\(when) by \(f.closedBy ?? "an earlier run"): there is nothing to repair. Run `cairn advise \(databasePath)` to see the open failures.")
        }
        return [f]
    }

    /// The failure log with what the checkers find now merged in, without writing it.
    private func previewLog(_ ctx: AdvisorContext) -> FailureLog {
        var log = FailureLog(ctx.control)
        for (name, findings) in currentFindings(ctx) {
            log.merge(checker: name, found: findings, at: ctx.now, closedBy: "no longer found")
        }
        return log
    }

    static func noAutomaticRepair(_ f: Failure, why: String, steps: [String]) -> EngineError {
        .unrecoverable("Failure \(f.id) (\(f.summary)) has no automatic repair: \(why). Repair it by hand: " + steps.joined(separator: " "))
    }

    // MARK: - Live pages

    /// The automatic repair of a "live-pages" failure (damaged pages of the live database):
    /// rebuilds them with `repair pages --damaged`; with `preview`, only says what it would do.
    /// Returns what it did (or would do).
    /// The preview reads nothing but the control file (advise lists it with every live-pages
    /// failure): where the pages would come from; the repair itself runs `repair pages --damaged`.
    func repairLivePages(_ failure: Failure, preview: Bool) throws(EngineError) -> String {
        let c = control
        let pages = Self.list(Set(failure.pages ?? []))
        guard c.redo.mode == .archivelog else {
            throw .unrecoverable("\(databasePath) is in NOARCHIVELOG mode: no page map says what its pages must be, so they cannot be rebuilt one by one")
        }
        if preview {
            let newest = c.restorableBackups.max { ($0.scn, $0.id) < ($1.scn, $1.id) }
            let source = newest.map { "the online logs where they hold them, otherwise backup \($0.id) (SCN \($0.scn)), or an older one, and the logs after it" }
                ?? "the online logs (no backup holds them: only pages the online logs hold whole can be rebuilt)"
            return "rebuild page(s) \(pages) as of the current SCN from \(source) and write them in under SQLite's write lock (`cairn repair pages \(databasePath) --damaged`)"
        }
        let r = try repairPages(.damaged)
        let left = r.pages.filter { $0.written.isEmpty }
        guard left.isEmpty else {
            throw .unrecoverable("page(s) \(Self.list(Set(left.map(\.page)))) were left as they are: \(left.compactMap(\.skipped).first ?? "")")
        }
        let sources = Set(r.pages.map(\.source)).sorted().joined(separator: "; ")
        return r.pages.isEmpty ? "no damaged page left at SCN \(r.scn)" : "rebuilt \(r.repaired) page(s) as of SCN \(r.scn) from \(sources) and wrote them in"
    }
}
