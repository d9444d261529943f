import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog
import CairnEngines

/// Builds each database's part of a snapshot. What changes only with the control file (the
/// recovery window, remotes, the recovery area, findings) is computed again only when the
/// control file changed; capture progress and lag are read every time.
///
/// The agent's loop calls `refresh` every second, which works that part out again for each
/// database being written (its captured SCN moved) whose control file changed; a snapshot uses
/// the part as of the last check when it is at most `freshFor` old (`writtenFreshFor` for a
/// database being written, whose part the loop keeps; capture progress is always current), so
/// a request does not read and work through the control files of every database written since
/// the last request (50 written databases: 200 ms, most of it
/// decoding control files and reading open logs). The databases at rest are checked by the
/// requests themselves (a `stat` each) and by the loop every `restingCheck`, which costs an
/// idle agent next to nothing.
final class SnapshotBuilder: Sendable {
    private struct Cached {
        /// The control file it was worked out from (compared whole: its times have whole seconds).
        let control: ControlFile
        let part: DatabaseSnapshot
        /// When the control file was last found unchanged, or the part worked out.
        var checkedAt: Date
        /// The captured SCN when it was worked out or checked.
        var scn: UInt64
        /// The capture's starts and whether it ran then: a capture that starts (or first runs
        /// after starting) may have recorded a gap or a stop, so the part is worked out again.
        let capture: CaptureEpoch
    }

    struct CaptureEpoch: Equatable {
        let starts: Int
        let running: Bool
        init(_ p: GuardedCapture.Progress) { (starts, running) = (p.starts, p.running) }
    }

    static let freshFor: TimeInterval = 2
    static let restingCheck: TimeInterval = 30
    /// How old the part of a database being written may be in a request's snapshot: the loop
    /// works it out again every second, so a request leaves that to the loop (working out the
    /// parts of 50 written databases in a request, when the loop ran late under load, made it
    /// ten times slower), unless the loop has not done it for this long.
    static let writtenFreshFor: TimeInterval = 10

    private let cache = Mutex<[String: Cached]>([:])
    /// Each database's catalog, opened once (it reads its control file again only when it changed).
    private let catalogs = Mutex<[String: Catalog]>([:])
    private let logger: Logger
    /// What the advisor's checkers find, looked at in the loop's passes.
    let advisor: AdvisorFindings

    init(logger: Logger, advisorInterval: TimeInterval = AdvisorFindings.defaultPeriod) {
        self.logger = logger
        advisor = AdvisorFindings(period: advisorInterval)
    }

    func snapshot(of t: ProtectedTarget, now: Date) -> DatabaseSnapshot {
        let view = t.view
        var s = DatabaseSnapshot(path: t.path, id: t.target.id, entryLine: t.target.entry.line, state: view.phase)
        s.timeline.now = now
        s.dbid = view.dbid
        s.repository = view.repository
        s.jobRuns = view.runs
        s.jobFailures = view.failures
        s.recentJobs = view.jobs
        if let repository = view.repository, let catalog = catalog(t.path, repository: repository) {
            let p = t.capture.current
            fill(&s, from: catalog, scn: p.scn, epoch: CaptureEpoch(p), now: now)
        }
        let progress = t.capture.current
        // Capture that failed and started again is capturing again.
        if s.state == .failing, view.openProblem == nil, progress.running { s.state = .capturing }
        s.capturedScn = max(s.capturedScn, progress.scn)
        TimelineBuilder.addCurrentLog(&s.timeline, capturedScn: s.capturedScn, now: now)
        CaptureLag.measure(progress, index: t.capture.walIndex, now: now).map { s.captureLagBytes = $0.bytes; s.captureLagSeconds = $0.seconds }
        for f in advisor.findings(t.path) where !s.findings.contains(f) { s.findings.append(f) }
        HealthRules.judge(&s, target: t, view: view, progress: progress, now: now)
        return s
    }

    func forget(_ path: String) {
        cache.withLock { $0[path] = nil }
        catalogs.withLock { $0[path] = nil }
        advisor.forget(path)
    }

    private func catalog(_ path: String, repository: String) -> Catalog? {
        if let c = catalogs.withLock({ $0[path] }), c.layout.root == repository { return c }
        guard let c = try? Catalog.open(database: path, repository: repository, logger: logger) else { return nil }
        catalogs.withLock { $0[path] = c }
        return c
    }

    /// Works out again the control-file part of each of `targets` whose control file changed.
    func refresh(_ targets: [ProtectedTarget], now: Date) {
        // A database whose capture is starting is looked at once it ran (or failed): before,
        // the advisor would see the files of a capture killed midway as they were left.
        advisor.refresh(targets.compactMap { t in
            let p = t.capture.current
            guard p.running || p.lastError != nil else { return nil }
            return t.repository.flatMap { catalog(t.path, repository: $0) }.map { (t.path, $0) }
        }, now: now)
        for t in targets {
            let progress = t.capture.current
            let scn = progress.scn, epoch = CaptureEpoch(progress)
            // (Looked at in place: a copy of the cached part would retain all it holds.)
            let resting = cache.withLock { c in c[t.path].map { $0.scn == scn && $0.capture == epoch && now.timeIntervalSince($0.checkedAt) < Self.restingCheck } ?? false }
            if resting { continue }
            guard let repository = t.repository, let catalog = catalog(t.path, repository: repository) else { continue }
            _ = controlPart(t.path, catalog, scn: scn, epoch: epoch, now: now, freshFor: 0)
        }
    }

    /// The control-file part of `path`: as of the last check when that is at most `freshFor`
    /// old (`whileWritten` when given and the captured SCN moved since), otherwise checked (and
    /// worked out again when the control file changed).
    private func controlPart(_ path: String, _ catalog: Catalog, scn: UInt64, epoch: CaptureEpoch, now: Date, freshFor: TimeInterval,
                             whileWritten: TimeInterval? = nil) -> DatabaseSnapshot {
        // Looked at in place: a copy of the cached entry would retain all its control file holds.
        let fresh = cache.withLock { c in
            c[path].flatMap { entry -> DatabaseSnapshot? in
                let limit = entry.scn != scn ? whileWritten ?? freshFor : freshFor
                return entry.capture == epoch && now.timeIntervalSince(entry.checkedAt) < limit ? entry.part : nil
            }
        }
        if let fresh { return fresh }
        let c = catalog.control
        let unchanged = cache.withLock { cache -> DatabaseSnapshot? in
            guard let i = cache.index(forKey: path), cache.values[i].capture == epoch, cache.values[i].control == c else { return nil }
            cache.values[i].checkedAt = max(cache.values[i].checkedAt, now)
            cache.values[i].scn = scn
            return cache.values[i].part
        }
        if let unchanged { return unchanged }
        let part = Self.controlPart(catalog, c, path: path, now: now)
        cache.withLock { $0[path] = Cached(control: c, part: part, checkedAt: now, scn: scn, capture: epoch) }
        return part
    }

    private func fill(_ s: inout DatabaseSnapshot, from catalog: Catalog, scn: UInt64, epoch: CaptureEpoch, now: Date) {
        let part = controlPart(s.path, catalog, scn: scn, epoch: epoch, now: now, freshFor: Self.freshFor, whileWritten: Self.writtenFreshFor)
        s.incarnation = part.incarnation
        s.capturedScn = part.capturedScn
        s.archivedScn = part.archivedScn
        s.recoverableScn = part.recoverableScn
        s.lastBackupAt = part.lastBackupAt
        s.recoveryWindowStart = part.recoveryWindowStart
        s.remotes = part.remotes
        s.recoveryAreaBytes = part.recoveryAreaBytes
        s.recoveryAreaLimitBytes = part.recoveryAreaLimitBytes
        s.findings = part.findings
        s.timeline = part.timeline
        s.timeline.now = now
    }

    /// What the control file says (and what is worked out from it).
    private static func controlPart(_ catalog: Catalog, _ c: ControlFile, path: String, now: Date) -> DatabaseSnapshot {
        var p = DatabaseSnapshot(path: path, id: "", entryLine: 0, state: .capturing)
        let reach = catalog.recoveryReach
        p.incarnation = c.incarnation
        p.capturedScn = reach.capturedScn
        p.archivedScn = c.redo.archivedScn
        p.recoverableScn = reach.recoverableScn
        for b in c.restorableBackups {
            let key = String(b.level)
            if p.lastBackupAt[key].map({ $0 < b.completedAt }) ?? true { p.lastBackupAt[key] = b.completedAt }
        }
        p.timeline = TimelineBuilder.build(c, now: now)
        p.recoveryWindowStart = p.timeline.windowStart
        p.remotes = catalog.remoteLag.map {
            RemoteSnapshot(url: $0.url, mode: $0.mode, logsBehind: $0.logsBehind, backupsBehind: $0.backupsBehind,
                           bytesBehind: $0.bytesBehind, lagSeconds: $0.lagSeconds, lastError: $0.lastError)
        }
        let space = catalog.spaceReport(now: now)
        p.recoveryAreaBytes = space.used
        p.recoveryAreaLimitBytes = space.limit
        p.findings = Findings.of(c, reach: reach, warnings: catalog.warnings + catalog.recoveryAreaWarnings, remotes: p.remotes)
        return p
    }
}
