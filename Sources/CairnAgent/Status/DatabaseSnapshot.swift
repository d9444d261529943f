import Foundation

/// One protected database as the agent sees it.
package struct DatabaseSnapshot: Sendable, Codable, Equatable {
    package enum State: String, Sendable, Codable {
        /// Being opened or registered, or waiting for its first backup.
        case starting
        /// Captured and archived continuously.
        case capturing
        /// Capture stopped after an error; retried with backoff.
        case failing
        /// Stopped (the agent is stopping, or the entry was removed).
        case stopped
    }

    /// The database file (absolute path).
    package var path: String
    /// A URL-safe name for its page (`/db/<id>`), stable while the path is.
    package var id: String
    /// The configuration line of its entry.
    package var entryLine: Int
    package var state: State
    /// Why it is not healthy, one sentence each (empty: healthy). `/healthz` lists these.
    package var problems: [String] = []
    package var dbid: UInt64?
    package var repository: String?
    package var incarnation: Int?
    package var capturedScn: UInt64 = 0
    package var archivedScn: UInt64 = 0
    package var recoverableScn: UInt64?
    /// How long and how many WAL bytes the newest commit waits to be captured.
    package var captureLagSeconds: Double?
    package var captureLagBytes: UInt64?
    /// When the newest backup of each level completed (key: "0", "1").
    package var lastBackupAt: [String: Date] = [:]
    /// The oldest time a restore can reach.
    package var recoveryWindowStart: Date?
    package var remotes: [RemoteSnapshot] = []
    package var recoveryAreaBytes: UInt64 = 0
    package var recoveryAreaLimitBytes: UInt64?
    /// Runs and failures by job kind (key: "backup-level0", "backup-level1", "archivelog",
    /// "delete-obsolete", "crosscheck", "validate"), since the agent started.
    package var jobRuns: [String: UInt64] = [:]
    package var jobFailures: [String: UInt64] = [:]
    /// What is wrong, by priority (what `advise` would list).
    package var findings: [Finding] = []
    package var timeline = Timeline()
    /// The newest jobs first, at most 50.
    package var recentJobs: [JobRecord] = []

    package init(path: String, id: String, entryLine: Int, state: State) {
        self.path = path
        self.id = id
        self.entryLine = entryLine
        self.state = state
    }
}

/// How far one remote repository is behind.
package struct RemoteSnapshot: Sendable, Codable, Equatable {
    package var url: String
    package var mode: String
    package var logsBehind: Int
    package var backupsBehind: Int
    package var bytesBehind: UInt64
    package var lagSeconds: Double
    package var lastError: String?

    package init(url: String, mode: String, logsBehind: Int, backupsBehind: Int, bytesBehind: UInt64, lagSeconds: Double, lastError: String?) {
        self.url = url
        self.mode = mode
        self.logsBehind = logsBehind
        self.backupsBehind = backupsBehind
        self.bytesBehind = bytesBehind
        self.lagSeconds = lagSeconds
        self.lastError = lastError
    }
}

/// Something wrong with a database, by priority (as the recovery advisor ranks failures).
package struct Finding: Sendable, Codable, Equatable {
    package enum Priority: String, Sendable, Codable, CaseIterable { case critical, high, low }
    package var priority: Priority
    package var summary: String

    package init(priority: Priority, summary: String) {
        self.priority = priority
        self.summary = summary
    }
}

/// One run of a job, scheduled or started by the agent (the first level-0 backup).
package struct JobRecord: Sendable, Codable, Equatable {
    package enum Outcome: String, Sendable, Codable { case running, succeeded, failed, retrying }
    package var id: UInt64
    /// "backup-level0", "backup-level1", "archivelog", "delete-obsolete", "crosscheck", "validate".
    package var kind: String
    package var scheduledAt: Date?
    package var startedAt: Date
    package var endedAt: Date?
    package var attempt: Int
    package var outcome: Outcome
    /// What the job reported (its summary or its error), a few lines.
    package var output: String

    package init(id: UInt64, kind: String, scheduledAt: Date?, startedAt: Date, endedAt: Date? = nil, attempt: Int = 1, outcome: Outcome, output: String = "") {
        self.id = id
        self.kind = kind
        self.scheduledAt = scheduledAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.attempt = attempt
        self.outcome = outcome
        self.output = output
    }
}
