import Foundation
import CairnEngines

/// Whether a database is healthy (`/healthz`): open and captured since the agent started, capture within the entry's
/// RPO, a database backup no older than `backup_max_age`, no job failed for good, no remote
/// failing, no critical finding. Each problem is one sentence that says what to do.
enum HealthRules {
    static func judge(_ s: inout DatabaseSnapshot, target t: ProtectedTarget, view: ProtectedTarget.TargetState,
                      progress: GuardedCapture.Progress, now: Date) {
        let e = t.target.entry
        if let problem = view.openProblem { s.problems.append(problem) }
        if view.openProblem == nil, s.state != .capturing || !progress.running, s.state != .stopped {
            // Not yet captured since the agent started: a gap, a stopped capture or a WAL to
            // catch up on is found by the first round, so nothing is known to be protected yet.
            if let error = progress.lastError {
                s.problems.append("capture of \(t.path) is not running: \(error)")
            } else if now.timeIntervalSince(t.startedAt) > e.rpoSeconds {
                s.problems.append("capture of \(t.path) is not running")
            } else {
                s.problems.append("capture of \(t.path) is starting: nothing is known to be captured yet")
            }
        }
        if let lag = s.captureLagSeconds, lag > e.rpoSeconds {
            s.problems.append("capture is \(Int(lag)) s behind the WAL (RPO \(Int(e.rpoSeconds)) s)")
        }
        let newest = s.lastBackupAt.values.max()
        if view.repository != nil {
            if let newest {
                let age = now.timeIntervalSince(newest)
                if age > e.backupMaxAgeHours * 3600 {
                    s.problems.append("the newest backup is \(Int(age / 3600)) h old (backup_max_age \(Int(e.backupMaxAgeHours)) h); check the schedule and the backup jobs")
                }
            } else {
                let running = view.jobs.contains { $0.kind == "backup-level0" && $0.outcome == .running }
                s.problems.append("no backup yet: nothing can be restored" + (running ? " (the first level-0 backup is running)" : ""))
            }
        }
        for (job, error) in view.failedJobs.sorted(by: { $0.key < $1.key }) {
            s.problems.append("job \(job) failed: \(error)")
        }
        for r in s.remotes where r.lastError != nil { s.problems.append("remote \(r.url): \(r.lastError!)") }
        for f in s.findings where f.priority == .critical { s.problems.append(f.summary) }
    }
}
