import Foundation
import Logging
import Synchronization
import ServiceLifecycle
import CairnFormats
import CairnEngines

/// The agent: protects every database its configuration names, from one process. Each
/// database is opened (or registered) and captured under the agent's own pin on a thread of
/// its own; scheduled jobs run through a `JobRunner`; `dir:` entries are looked at again every
/// few seconds; SIGHUP reloads the file (databases added or removed without disturbing the
/// others). A graceful shutdown (SIGTERM) cancels running jobs and stops every capture after it
/// captured and archived everything committed.
package final class AgentService: Service, AgentStatusSource, Sendable {
    package let configFile: String
    let logger: Logger
    let startedAt = Date()
    private let state: Mutex<AgentState>
    let runner: JobRunner
    private let builder: SnapshotBuilder
    private let reloadRequested = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    struct AgentState {
        var configuration: AgentConfiguration
        var configurationProblems: [String]
        var targetProblems: [String] = []
        var httpProblem: (@Sendable () -> String?)?
        var targets: [String: ProtectedTarget] = [:]
        var retiring: [ProtectedTarget] = []
        var planners: [String: JobPlanner] = [:]
        /// What `reconcile` last resolved the entries against (see `TargetResolver.Signature`).
        var resolved: TargetResolver.Signature?
    }

    package init(configFile: String, configuration: AgentConfiguration, problems: [ConfigurationError], logger: Logger) {
        self.configFile = configFile
        self.logger = logger
        state = Mutex(AgentState(configuration: configuration, configurationProblems: problems.map(Self.text)))
        runner = JobRunner(settings: configuration.jobs, logger: logger)
        builder = SnapshotBuilder(logger: logger, advisorInterval: configuration.advisorInterval)
    }

    /// Asks for the configuration file to be read again (what SIGHUP does).
    package func requestReload() { reloadRequested.store(true, ordering: .releasing) }

    /// Where the snapshot learns why the HTTP listener is not serving (nil while it serves).
    package func reportHTTP(_ problem: @escaping @Sendable () -> String?) { state.withLock { $0.httpProblem = problem } }

    package func run() async throws {
        try await withTaskExecutorPreference(AgentExecutor.shared) { try await serve() }
    }

    private func serve() async throws {
        if !SQLiteConnection.skipPageCachePreallocation() { logger.debug("SQLite was in use before the agent started: its connections preallocate their page caches") }
        let signals = AgentSignals(onReload: { [self] in requestReload() })
        defer { signals.cancel() }
        for p in state.withLock({ $0.configurationProblems }) { logger.error("\(p)") }
        reconcile()
        let count = state.withLock { $0.targets.count }
        let directories = Set(state.withLock { $0.targets.keys.map { ($0 as NSString).deletingLastPathComponent } }).count
        let limits = ProcessLimits.check(databases: count, directories: directories)
        // Said at start, clearly; not a health failure: capture works without inotify (it polls).
        for p in limits { logger.error("\(p)") }
        logger.info("agent started: \(count) database(s) from \(configFile)")
        await withGracefulShutdownHandler { await loop() } onGracefulShutdown: { [self] in stopping.store(true, ordering: .releasing) }
        await shutdown()
    }

    private func loop() async {
        var lastScan = Date(), lastRefresh = Date.distantPast
        while !stopping.load(ordering: .acquiring) && !Task.isCancelled {
            if reloadRequested.exchange(false, ordering: .acquiringAndReleasing) { reload() }
            if Date().timeIntervalSince(lastRefresh) >= 1 {
                builder.refresh(state.withLock { Array($0.targets.values) }, now: Date())
                lastRefresh = Date()
            }
            if Date().timeIntervalSince(lastScan) >= 2 {
                reconcile()
                await startNewChains()
                await startDueSnapshots()
                lastScan = Date()
            }
            for (target, due) in takeDue(now: Date()) {
                for d in due { await runner.enqueue(d.job, for: target, scheduledAt: d.scheduledAt) }
            }
            await runner.pump()
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    private func shutdown() async {
        logger.info("stopping: capturing and archiving everything committed")
        await runner.stop()
        let deadline = Date().addingTimeInterval(60)
        while !(await runner.isIdle) && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        let all = state.withLock { $0.targets.values.map { $0 } + $0.retiring }
        for t in all { t.stop() }
        for t in all { await t.waitFinished() }
        for t in all where t.needsNewChain {
            logger.warning("\(t.path) has a gap after its newest level-0 backup and stopped before a new chain began: nothing committed after the gap can be restored until `cairn backup \(t.path)` takes a level-0 backup (the agent takes one when it starts again)")
        }
        logger.info("stopped")
    }

    // MARK: - Databases

    /// Starts protecting the databases the configuration names now and stops those it no
    /// longer names (or names with other settings: they start again with the new ones).
    func reconcile() {
        let (entries, retiring, resolved) = state.withLock { s in (s.configuration.databases, s.retiring, s.resolved) }
        // Nothing to do when no entry's directory changed since the last pass and nothing
        // waits to start again (the listing and a stat of every database, every 2 s, were
        // most of an idle agent's work).
        let signature = TargetResolver.Signature(entries)
        if retiring.isEmpty, signature == resolved { return }
        let (targets, problems) = TargetResolver.resolve(entries)
        let wanted = Dictionary(uniqueKeysWithValues: targets.map { ($0.path, $0) })
        var started: [ProtectedTarget] = []
        var stopped: [ProtectedTarget] = []
        state.withLock { s in
            s.targetProblems = problems
            s.resolved = signature
            s.retiring.removeAll { $0.isFinished }
            for (path, t) in s.targets where wanted[path] != t.target {
                s.targets[path] = nil
                s.planners[path] = nil
                s.retiring.append(t)
                stopped.append(t)
            }
            for (path, target) in wanted where s.targets[path] == nil && !retiring.contains(where: { $0.path == path && !$0.isFinished }) {
                let t = ProtectedTarget(target, logger: logger)
                s.targets[path] = t
                started.append(t)
            }
        }
        for t in stopped {
            logger.info("no longer protecting \(t.path) as before (configuration changed): stopping its capture after archiving")
            t.stop()
            builder.forget(t.path)
            let runner = runner
            Task(executorPreference: AgentExecutor.shared) { await runner.forget(t.path) }
        }
        for t in started {
            logger.info("protecting \(t.path) (entry at line \(t.target.entry.line))")
            t.start(ready: { [self] target, needsBackup in ready(target, needsBackup: needsBackup) })
        }
        if !started.isEmpty, let slots = FutexHash.fit(databases: state.withLock { $0.targets.count }) {
            logger.debug("private futex hash: \(slots) slots")
        }
    }

    /// A database is open and capture starts: plan its jobs, and take its first backup.
    private func ready(_ t: ProtectedTarget, needsBackup: Bool) {
        let schedule = t.target.entry.schedule
        var lastRuns: [JobPlanner.Key: Date] = [:]
        for (i, job) in schedule.enumerated() { lastRuns[JobPlanner.Key(database: t.path, index: i)] = t.lastRun(of: job) }
        let planner = JobPlanner(schedules: [t.path: schedule], lastRuns: lastRuns, now: t.startedAt)
        state.withLock { s in if s.targets[t.path] === t { s.planners[t.path] = planner } }
        guard needsBackup else { return }
        logger.info("\(t.path) has no level-0 backup: taking one now")
        let runner = runner
        Task(executorPreference: AgentExecutor.shared) { await runner.enqueue(.firstBackup, for: t, scheduledAt: nil) }
    }

    /// A level-0 backup for each database with a gap after its newest one (see `needsNewChain`).
    private func startNewChains() async {
        for t in state.withLock({ Array($0.targets.values) }) where t.phase == .capturing && t.mayNeedNewChain() && t.needsNewChain {
            if await runner.enqueue(.firstBackup, for: t, scheduledAt: nil) {
                logger.warning("\(t.path) has a gap after its newest level-0 backup (written while nothing captured it): taking a level-0 backup to start a new chain")
            }
        }
    }

    /// The automatic daily snapshot of each database that has one configured and due.
    private func startDueSnapshots() async {
        for t in state.withLock({ Array($0.targets.values) }) where t.phase == .capturing && t.dailySnapshotDue() {
            if await runner.enqueue(.dailySnapshot, for: t, scheduledAt: nil) {
                logger.info("\(t.path): the daily snapshot is due: taking it")
            }
        }
    }

    private func takeDue(now: Date) -> [(ProtectedTarget, [JobPlanner.Due])] {
        state.withLock { s in
            // In place, through the values' indices: a planner copied out and back would copy
            // its tables, and so would the whole dictionary while a view of its keys is held
            // (500 planners every 250 ms).
            var out: [(ProtectedTarget, [JobPlanner.Due])] = []
            var i = s.planners.values.startIndex
            while i != s.planners.values.endIndex {
                let due = s.planners.values[i].takeDue(at: now)
                if !due.isEmpty, let t = s.targets[s.planners.keys[i]] { out.append((t, due)) }
                s.planners.values.formIndex(after: &i)
            }
            return out
        }
    }

    private func reload() {
        do throws(ConfigurationError) {
            let (c, problems) = try AgentConfiguration.loadForRunning(configFile)
            let old = state.withLock { s in
                let old = s.configuration
                s.configuration = c
                s.configurationProblems = problems.map(Self.text)
                return old
            }
            for p in problems { logger.error("\(Self.text(p))") }
            if old.http != c.http { logger.warning("the `http:` settings changed; they apply when the agent is restarted") }
            if old.jobs != c.jobs { logger.warning("the `jobs:` settings changed; they apply when the agent is restarted") }
            logger.info("configuration reloaded from \(configFile): \(c.databases.count) entr(ies)")
            reconcile()
        } catch {
            let text = "reloading \(configFile) failed, the previous configuration stays in force: \(Self.text(error))"
            logger.error("\(text)")
            state.withLock { $0.configurationProblems = [text] }
        }
    }

    static func text(_ e: ConfigurationError) -> String { e.description }

    // MARK: - Status

    package func snapshot() async -> AgentSnapshot {
        let now = Date()
        let (targets, problems, http) = state.withLock { s in
            (s.targets.values.sorted { $0.path < $1.path }, s.configurationProblems + s.targetProblems, s.httpProblem)
        }
        var snap = AgentSnapshot(startedAt: startedAt, takenAt: now, configFile: configFile)
        snap.problems = problems + (http?().map { [$0] } ?? [])
        snap.databases = Parallel.map(targets) { [builder] in builder.snapshot(of: $0, now: now) }
        snap.remoteTraffic = RemoteTrafficReader.current()
        return snap
    }

    /// The database at `path`, while it is protected.
    func target(_ path: String) -> ProtectedTarget? { state.withLock { $0.targets[path] } }

    /// The databases protected now (for tests and the CLI's summary).
    package var protectedPaths: [String] { state.withLock { $0.targets.keys.sorted() } }
}
