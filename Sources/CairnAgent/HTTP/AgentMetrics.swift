import Foundation

/// The agent's metrics, named the Prometheus way (`cairn_` prefix, base units, `_total` for
/// counters), set from a snapshot into `MetricSeriesTable`s, one per scope.
///
/// Per database (label `database`: its path; `dbid` on the SCNs and the info series), per remote
/// (label `remote`: its URL) and for the agent itself.
enum AgentMetrics {
    /// The `# HELP` text of each metric family.
    static let help: [String: String] = [
        "cairn_agent_start_time_seconds": "When the agent started, in seconds since the Unix epoch.",
        "cairn_agent_databases": "Databases the agent protects.",
        "cairn_agent_problems": "Problems of the agent itself (see /healthz).",
        "cairn_database_info": "Always 1; labels: the database's dbid and incarnation.",
        "cairn_database_up": "1 while the database is captured, 0 otherwise (starting, failing, stopped).",
        "cairn_database_healthy": "1 when the database has no problem (see /healthz), 0 otherwise.",
        "cairn_captured_scn": "The newest SCN (commit number) captured into the online redo logs.",
        "cairn_archived_scn": "The newest SCN archived.",
        "cairn_capture_lag_seconds": "How long the newest commit has waited to be captured.",
        "cairn_capture_lag_bytes": "WAL bytes written and not captured yet.",
        "cairn_last_backup_age_seconds": "Seconds since the newest backup of the level completed.",
        "cairn_recovery_window_start_timestamp_seconds": "The oldest time a restore can reach, in seconds since the Unix epoch.",
        "cairn_remote_lag_seconds": "How far the remote repository is behind the local one, in seconds.",
        "cairn_remote_lag_bytes": "Bytes not copied to the remote repository yet.",
        "cairn_recovery_area_bytes": "Bytes the database's recovery area holds.",
        "cairn_recovery_area_limit_bytes": "The recovery area's size limit.",
        "cairn_job_runs_total": "Job runs since the agent started, by job.",
        "cairn_job_failures_total": "Failed job runs since the agent started, by job.",
        "cairn_failures_open": "What is wrong with the database now, by priority (what `cairn advise` lists).",
        "cairn_remote_requests_total": "Requests sent to the remote object storage, by kind.",
        "cairn_remote_sent_bytes_total": "Bytes sent to the remote object storage.",
        "cairn_remote_received_bytes_total": "Bytes received from the remote object storage.",
        "cairn_remote_errors_total": "Requests to the remote object storage that failed.",
    ]

    /// The scopes of `snapshot`: the agent's, each database's, each remote's.
    static func scopes(_ snapshot: AgentSnapshot) -> [MetricScopes.Scope] {
        var scopes = [MetricScopes.Scope(name: "agent", common: []) { table in
            table.gauge("cairn_agent_start_time_seconds", [], snapshot.startedAt.timeIntervalSince1970)
            table.gauge("cairn_agent_databases", [], Double(snapshot.databases.count))
            table.gauge("cairn_agent_problems", [], Double(snapshot.problems.count))
        }]
        scopes.reserveCapacity(1 + snapshot.databases.count + snapshot.remoteTraffic.count)
        for database in snapshot.databases {
            scopes.append(.init(name: "database \(database.path)", common: [("database", database.path)]) { record(database, now: snapshot.takenAt, into: &$0) })
        }
        for traffic in snapshot.remoteTraffic {
            scopes.append(.init(name: "remote \(traffic.remote)", common: [("remote", traffic.remote)]) { record(traffic, into: &$0) })
        }
        return scopes
    }

    private static func record(_ d: DatabaseSnapshot, now: Date, into table: inout MetricSeriesTable) {
        // The table's common label names the database (`database`, first on every series).
        let dbid = ("dbid", d.dbid.map { String($0) } ?? "")
        table.gauge("cairn_database_info", [dbid, ("incarnation", d.incarnation.map { String($0) } ?? "")], 1)
        table.gauge("cairn_database_up", [], d.state == .capturing ? 1 : 0)
        table.gauge("cairn_database_healthy", [], d.problems.isEmpty ? 1 : 0)
        table.gauge("cairn_captured_scn", [dbid], Double(d.capturedScn))
        table.gauge("cairn_archived_scn", [dbid], Double(d.archivedScn))
        if let lag = d.captureLagSeconds { table.gauge("cairn_capture_lag_seconds", [], lag) }
        if let lag = d.captureLagBytes { table.gauge("cairn_capture_lag_bytes", [], Double(lag)) }
        for (level, at) in d.lastBackupAt {
            table.gauge("cairn_last_backup_age_seconds", [("level", level)], max(0, now.timeIntervalSince(at)))
        }
        if let start = d.recoveryWindowStart {
            table.gauge("cairn_recovery_window_start_timestamp_seconds", [], start.timeIntervalSince1970)
        }
        table.gauge("cairn_recovery_area_bytes", [], Double(d.recoveryAreaBytes))
        if let limit = d.recoveryAreaLimitBytes { table.gauge("cairn_recovery_area_limit_bytes", [], Double(limit)) }
        for remote in d.remotes {
            table.gauge("cairn_remote_lag_seconds", [("remote", remote.url)], remote.lagSeconds)
            table.gauge("cairn_remote_lag_bytes", [("remote", remote.url)], Double(remote.bytesBehind))
        }
        recordJobs(d, into: &table)
        for priority in Finding.Priority.allCases {
            let open = d.findings.reduce(0) { $0 + ($1.priority == priority ? 1 : 0) }
            table.gauge("cairn_failures_open", [("priority", priority.rawValue)], Double(open))
        }
    }

    /// Runs and failures of every job that ran (a job with runs and no failure counts 0 failures).
    private static func recordJobs(_ d: DatabaseSnapshot, into table: inout MetricSeriesTable) {
        for job in Set(d.jobRuns.keys).union(d.jobFailures.keys) {
            table.counter("cairn_job_runs_total", [("job", job)], cumulative: d.jobRuns[job] ?? 0)
            table.counter("cairn_job_failures_total", [("job", job)], cumulative: d.jobFailures[job] ?? 0)
        }
    }

    private static func record(_ t: RemoteTraffic, into table: inout MetricSeriesTable) {
        // The table's common label names the remote.
        for (kind, count) in t.requests {
            table.counter("cairn_remote_requests_total", [("kind", kind)], cumulative: count)
        }
        table.counter("cairn_remote_sent_bytes_total", [], cumulative: t.bytesSent)
        table.counter("cairn_remote_received_bytes_total", [], cumulative: t.bytesReceived)
        table.counter("cairn_remote_errors_total", [], cumulative: t.errors)
    }
}
