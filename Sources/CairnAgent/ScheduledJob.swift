/// One job of a database's `schedule:`: what runs, and when (`cron:` or `at:`).
package struct ScheduledJob: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// A backup of the database (`level:` 0 or 1, `cumulative:` for a level 1).
        case backup
        /// A backup set of the archived logs no set holds yet.
        case archivelog
        case deleteObsolete = "delete-obsolete"
        case crosscheck
        case validate
        /// The automatic daily snapshot, when due (`cairn configure DB snapshot daily`).
        case snapshot
    }

    package var kind: Kind
    package var level = 0
    package var cumulative = false
    package var schedule: Schedule
    package var line = 0

    static func parse(_ node: ConfigNode) throws(ConfigurationError) -> ScheduledJob {
        let k = try node.mapping(allowed: ["job", "level", "cumulative", "cron", "at"])
        guard let jobNode = k["job"] else { throw node.error("each job needs `job:` (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))") }
        let name = try jobNode.string()
        guard let kind = Kind(rawValue: name) else {
            throw jobNode.error("'\(name)' is not a job (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let when: ConfigNode
        switch (k["cron"], k["at"]) {
        case let (c?, nil): when = c
        case let (nil, a?): when = a
        case (nil, nil): throw node.error("each job needs `cron:` (e.g. \"0 2 * * *\") or `at:` (e.g. \"daily at 02:00\")")
        default: throw node.error("give `cron:` or `at:`, not both")
        }
        let schedule: Schedule
        let text = try when.string()
        do throws(ScheduleError) { schedule = try Schedule(parsing: text) } catch { throw when.error(error.message) }
        var job = ScheduledJob(kind: kind, schedule: schedule, line: node.line)
        if let l = k["level"] {
            guard kind == .backup else { throw l.error("`level:` applies to `job: backup` only") }
            job.level = try l.int(in: 0...1)
        }
        if let c = k["cumulative"] {
            guard kind == .backup else { throw c.error("`cumulative:` applies to `job: backup` only") }
            job.cumulative = try c.bool()
            if job.cumulative && job.level != 1 { throw c.error("`cumulative: true` needs `level: 1`") }
        }
        return job
    }
}

extension ScheduledJob {
    /// The job's name in metrics and on the status page: "backup-level0", "backup-level1",
    /// "archivelog", "delete-obsolete", "crosscheck", "validate".
    package var name: String { kind == .backup ? "backup-level\(level)" : kind.rawValue }

    /// Reads or writes every page of the database (one such job per disk at a time).
    package var isHeavy: Bool { [.backup, .archivelog, .validate, .snapshot].contains(kind) }

    /// Names the job across restarts and edits of other jobs (for its last run).
    var signature: String { "\(name)\(cumulative ? "-cumulative" : "") \(schedule.description)" }

    /// The level-0 backup a database gets at once when it has none.
    package static let firstBackup = ScheduledJob(kind: .backup, schedule: try! Schedule(parsing: "hourly"))

    /// The automatic daily snapshot the control file asks for, once due.
    package static let dailySnapshot = ScheduledJob(kind: .snapshot, schedule: try! Schedule(parsing: "hourly"))
}
