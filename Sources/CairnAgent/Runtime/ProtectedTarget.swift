import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog
import CairnEngines

/// One database under the agent's protection: opened (or registered), captured continuously
/// under the agent's pin on a thread of its own, and the record of its jobs. A failure to open
/// or capture is reported and retried with backoff; the others go on regardless.
package final class ProtectedTarget: Sendable {
    package let target: AgentTarget
    let capture: GuardedCapture
    private let logger: Logger
    private let state = Mutex(TargetState())
    private let finished = Atomic<Bool>(false)
    let startedAt = Date()

    struct TargetState {
        var phase = DatabaseSnapshot.State.starting
        var openProblem: String?
        var dbid: UInt64?
        var repository: String?
        var catalog: Catalog?
        /// Capture's restart count and state, and the time, when `needsNewChain` was last worked out.
        var chainCheck: (restarts: Int, running: Bool, at: Date)?
        /// When `dailySnapshotDue` last looked.
        var snapshotCheck: Date?
        var jobs: [JobRecord] = []
        var runs: [String: UInt64] = [:]
        var failures: [String: UInt64] = [:]
        /// Jobs whose last run failed for good, by name, with the error.
        var failedJobs: [String: String] = [:]
        var lastRuns: [String: Date] = [:]
    }

    package init(_ target: AgentTarget, logger: Logger) {
        self.target = target
        self.logger = logger
        capture = GuardedCapture(databasePath: target.path, logger: logger)
    }

    package var path: String { target.path }
    var isFinished: Bool { finished.load(ordering: .acquiring) }
    var stopRequested: Bool { capture.stopRequest.isRequested }
    var phase: DatabaseSnapshot.State { state.withLock { $0.phase } }
    var repository: String? { state.withLock { $0.repository } }

    /// Starts protecting on a thread of its own; `ready` runs each time the database is open and
    /// capture is about to start (with whether it lacks a level-0 backup).
    func start(ready: @escaping @Sendable (ProtectedTarget, Bool) -> Void) {
        let thread = Thread { [self] in
            protect(ready: ready)
            finished.store(true, ordering: .releasing)
        }
        thread.name = "cairn capture \((target.path as NSString).lastPathComponent)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Asks capture to capture and archive everything committed, then stop.
    func stop() { capture.stopRequest.request() }

    /// Waits until the capture thread ended.
    func waitFinished() async {
        while !isFinished { try? await Task.sleep(for: .milliseconds(20)) }
    }

    private func protect(ready: @Sendable (ProtectedTarget, Bool) -> Void) {
        var pause: TimeInterval = 1
        while !stopRequested {
            do throws(EngineError) {
                let (catalog, registered) = try DatabaseRegistrar.prepare(target, logger: logger)
                let lastRuns = JobHistoryFile.read(repository: catalog.layout.root)
                state.withLock {
                    $0.dbid = catalog.dbid
                    $0.repository = catalog.layout.root
                    $0.catalog = catalog
                    $0.openProblem = nil
                    $0.phase = .capturing
                    $0.lastRuns.merge(lastRuns) { max($0, $1) }
                }
                if registered { logger.info("protecting \(target.path): registered now") }
                ready(self, catalog.control.restorableBackups.isEmpty)
                let repository = catalog.layout.root
                try capture.run(open: { () throws(EngineError) in try Catalog.open(database: target.path, repository: repository, logger: logger) },
                                onFailure: { [self] _, _ in state.withLock { $0.phase = .failing } })
                break
            } catch {
                let text = Self.describe(error, path: target.path)
                state.withLock { $0.openProblem = text; $0.phase = .failing }
                logger.error("\(text); trying again in \(Int(pause)) s")
                sleep(pause)
                pause = min(60, pause * 2)
            }
        }
        state.withLock { $0.phase = .stopped }
    }

    static func describe(_ error: EngineError, path: String) -> String {
        switch error {
        case .databaseVanished: return "the database file \(path) disappeared or was replaced; capture stopped (it starts again when the file is back)"
        case .databaseMissing: return "the database file \(path) does not exist; create it or fix the entry (looked at again every few seconds)"
        default: return error.description
        }
    }

    private func sleep(_ seconds: TimeInterval) {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end && !stopRequested { usleep(50_000) }
    }

    // MARK: - Jobs

    /// Whether a gap was recorded after the newest level-0 backup (the database was written
    /// while nothing captured it, and its WAL restarted): a restore cannot cross it, so a new
    /// level-0 backup must start a new chain.
    /// Whether `needsNewChain` is worth working out now: a gap is recorded when capture starts,
    /// so once capture runs after each (re)start, and otherwise once every `chainCheckInterval` (in
    /// case another process recorded one). Each call that says yes counts as the check.
    func mayNeedNewChain(now: Date = Date()) -> Bool {
        let p = capture.current
        return state.withLock { s in
            if let last = s.chainCheck, last.restarts == p.restarts, last.running == p.running,
               now.timeIntervalSince(last.at) < Self.chainCheckInterval { return false }
            s.chainCheck = (p.restarts, p.running, now)
            return true
        }
    }

    static let chainCheckInterval: TimeInterval = 30

    /// Whether the automatic daily snapshot is due (looked at once a minute at most: even the
    /// policy is not read between looks, since reading it stats the control file's copies, and
    /// the agent asks for every database every 2 s).
    func dailySnapshotDue(now: Date = Date()) -> Bool {
        let look = state.withLock { s -> Bool in
            if let last = s.snapshotCheck, now.timeIntervalSince(last) < 60 { return false }
            s.snapshotCheck = now
            return true
        }
        guard look, let catalog = state.withLock({ $0.catalog }), catalog.control.policy.dailySnapshot != nil else { return false }
        return catalog.dailySnapshotDue(now: now) != nil
    }

    var needsNewChain: Bool {
        guard let catalog = state.withLock({ $0.catalog }) else { return false }
        let c = catalog.control
        let base = c.restorableBackups.filter { $0.level == 0 && $0.incarnation == c.incarnation }.map(\.scn).max() ?? 0
        return c.redo.gaps.contains { $0.incarnation == c.incarnation && $0.scn > base }
    }

    func lastRun(of job: ScheduledJob) -> Date? { state.withLock { $0.lastRuns[job.signature] } }

    /// Records a job's start or end (an update of an existing record replaces it).
    func record(_ r: JobRecord, job: ScheduledJob, final: Bool) {
        let repository = state.withLock { s -> String? in
            if let i = s.jobs.firstIndex(where: { $0.id == r.id }) { s.jobs[i] = r } else { s.jobs.insert(r, at: 0) }
            if s.jobs.count > 50 { s.jobs.removeLast(s.jobs.count - 50) }
            guard r.outcome != .running else { return nil }
            s.runs[r.kind, default: 0] += 1
            if r.outcome != .succeeded { s.failures[r.kind, default: 0] += 1 }
            if r.outcome == .succeeded { s.failedJobs[r.kind] = nil } else if final { s.failedJobs[r.kind] = r.output }
            if final || r.outcome == .succeeded { s.lastRuns[job.signature] = r.scheduledAt ?? r.startedAt }
            return s.repository
        }
        if let repository, final || r.outcome == .succeeded { JobHistoryFile.write(state.withLock { $0.lastRuns }, repository: repository, database: target.path) }
    }

    var view: TargetState { state.withLock { $0 } }
}
