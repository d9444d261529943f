import Foundation
import Logging
import CairnFormats
import CairnEngines

/// Runs the agent's jobs: at most `maxConcurrent` at once, and at most `perDisk` heavy ones
/// (backups, archived-log backups, validations: they read every page) per disk; a job already
/// queued or running for a database is not queued twice; a failed job is retried after
/// `retryDelay`, doubling, up to `retries` times.
package actor JobRunner {
    package struct Settings: Sendable, Equatable {
        package var maxConcurrent = 2
        package var perDisk = 1
        package var retries = 3
        package var retryDelay: TimeInterval = 60
        package init() {}
    }

    struct Pending {
        let id: UInt64
        let target: ProtectedTarget
        let job: ScheduledJob
        let scheduledAt: Date?
        let attempt: Int
        let notBefore: Date
        var key: String { target.path + " " + job.name }
    }

    private struct Running {
        let key: String
        let disk: UInt64
        let heavy: Bool
        let monitor: OperationMonitor
    }

    private let settings: Settings
    private let logger: Logger
    private var queue: [Pending] = []
    private var running: [UInt64: Running] = [:]
    private var nextId: UInt64 = 1
    private var stopping = false

    package init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Queues `job` for `target`; false when the same job is queued or running for it already.
    @discardableResult
    func enqueue(_ job: ScheduledJob, for target: ProtectedTarget, scheduledAt: Date?) -> Bool {
        let key = target.path + " " + job.name
        guard !stopping, !queue.contains(where: { $0.key == key }), !running.values.contains(where: { $0.key == key }) else {
            if scheduledAt != nil { logger.info("\(job.name) of \(target.path) is already queued or running; this run is skipped") }
            return false
        }
        queue.append(Pending(id: nextId, target: target, job: job, scheduledAt: scheduledAt, attempt: 1, notBefore: Date()))
        nextId += 1
        pump()
        return true
    }

    /// Drops the queued jobs of a database no longer protected, and cancels its running ones.
    func forget(_ path: String) {
        queue.removeAll { $0.target.path == path }
        for r in running.values where r.key.hasPrefix(path + " ") { r.monitor.cancel() }
    }

    /// Starts what may start now.
    func pump() {
        let now = Date()
        var i = 0
        while i < queue.count && running.count < settings.maxConcurrent && !stopping {
            let p = queue[i]
            guard p.notBefore <= now, p.target.repository != nil, mayStart(p) else {
                i += 1
                continue
            }
            queue.remove(at: i)
            start(p)
        }
    }

    /// When the next queued job (waiting for its retry) may start.
    var nextStart: Date? { queue.map(\.notBefore).min() }
    var isIdle: Bool { running.isEmpty }

    private func mayStart(_ p: Pending) -> Bool {
        guard p.job.isHeavy else { return true }
        let disk = Self.disk(of: p.target.path)
        return running.values.filter { $0.heavy && $0.disk == disk }.count < settings.perDisk
    }

    private func start(_ p: Pending) {
        let monitor = OperationMonitor()
        running[p.id] = Running(key: p.key, disk: Self.disk(of: p.target.path), heavy: p.job.isHeavy, monitor: monitor)
        let started = Date()
        p.target.record(JobRecord(id: p.id, kind: p.job.name, scheduledAt: p.scheduledAt, startedAt: started, attempt: p.attempt, outcome: .running), job: p.job, final: false)
        logger.info("\(p.job.name) of \(p.target.path) started (attempt \(p.attempt))")
        let logger = logger
        Task(executorPreference: AgentExecutor.shared) {
            let result = await Self.onThread { JobExecution.run(p.job, on: p.target, monitor: monitor, logger: logger) }
            await self.finished(p, started: started, result: result)
        }
    }

    private func finished(_ p: Pending, started: Date, result: Result<String, JobExecution.Failed>) {
        running[p.id] = nil
        var record = JobRecord(id: p.id, kind: p.job.name, scheduledAt: p.scheduledAt, startedAt: started, endedAt: Date(), attempt: p.attempt, outcome: .succeeded)
        switch result {
        case let .success(text):
            record.output = text
            logger.info("\(p.job.name) of \(p.target.path) succeeded: \(text)")
            p.target.record(record, job: p.job, final: true)
        case let .failure(f):
            record.output = f.message
            let retry = !stopping && p.attempt <= settings.retries && !p.target.stopRequested
            record.outcome = retry ? .retrying : .failed
            p.target.record(record, job: p.job, final: !retry)
            if retry {
                let delay = settings.retryDelay * pow(2, Double(p.attempt - 1))
                logger.warning("\(p.job.name) of \(p.target.path) failed (attempt \(p.attempt)): \(f.message); retrying in \(Int(delay)) s")
                // Each attempt has a record of its own.
                queue.append(Pending(id: nextId, target: p.target, job: p.job, scheduledAt: p.scheduledAt, attempt: p.attempt + 1,
                                     notBefore: Date().addingTimeInterval(delay)))
                nextId += 1
            } else {
                logger.error("\(p.job.name) of \(p.target.path) failed: \(f.message)")
            }
        }
        pump()
    }

    /// Stops: nothing more starts, running jobs are cancelled (they stop at their next block).
    func stop() {
        stopping = true
        queue.removeAll()
        for r in running.values { r.monitor.cancel() }
    }

    private static func disk(of path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_dev) : 0
    }

    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
            Thread.detachNewThread { done.resume(returning: work()) }
        }
    }
}
