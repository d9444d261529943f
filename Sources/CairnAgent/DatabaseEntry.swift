import Foundation

/// One entry of `databases:`: a database file (`path`), or every database matching `pattern`
/// in a directory (`dir`), with its repository, remotes, key, redo settings, retention and jobs.
package struct DatabaseEntry: Sendable, Equatable {
    package var path: String?
    package var directory: String?
    package var pattern: String?
    package var repository: String?
    package var remotes: [String] = []
    package var remoteMode = "async"
    package var encryptionKeyFile: String?
    package var logSizeBytes: UInt64?
    package var archiveTimeoutSeconds: Double?
    package var walTargetBytes: UInt64?
    /// Retention: the N newest level-0 backups, or a recovery window of N days.
    package var redundancy: Int?
    package var windowDays: Double?
    /// Capture and backups this old at most count as healthy (`/healthz`).
    package var rpoSeconds: Double = 60
    package var backupMaxAgeHours: Double = 26
    package var schedule: [ScheduledJob] = []
    /// Where the entry starts in the file (for messages about it).
    package var line = 0

    package init() {}

    static let keys = ["path", "dir", "pattern", "repository", "remotes", "remote_mode", "encryption_key_file", "log_size",
                       "archive_timeout", "wal_target", "retention", "rpo", "backup_max_age", "schedule"]

    static func parse(_ node: ConfigNode) throws(ConfigurationError) -> DatabaseEntry {
        let k = try node.mapping(allowed: keys)
        var e = DatabaseEntry()
        e.line = node.line
        e.path = try k["path"]?.string()
        e.directory = try k["dir"]?.string()
        e.pattern = try k["pattern"]?.string()
        switch (e.path, e.directory) {
        case (nil, nil): throw node.error("give `path:` (one database) or `dir:` with `pattern:` (every matching database)")
        case (.some, .some): throw node.error("give `path:` or `dir:`, not both")
        case (nil, .some) where e.pattern == nil: e.pattern = "*.db"
        case (.some, nil) where e.pattern != nil: throw k["pattern"]!.error("`pattern:` goes with `dir:`, not `path:`")
        default: break
        }
        e.repository = try k["repository"]?.string()
        if e.directory != nil, e.repository != nil { throw k["repository"]!.error("a `dir:` entry keeps each database's repository beside it; leave `repository:` out") }
        e.remotes = try k["remotes"]?.strings() ?? []
        if let m = k["remote_mode"] {
            e.remoteMode = try m.string()
            guard ["sync", "async"].contains(e.remoteMode) else { throw m.error("'\(e.remoteMode)' is not a remote mode (sync or async)") }
        }
        e.encryptionKeyFile = try k["encryption_key_file"]?.string()
        e.logSizeBytes = try k["log_size"]?.bytes()
        e.archiveTimeoutSeconds = try k["archive_timeout"]?.double(in: 0.1...86_400)
        e.walTargetBytes = try k["wal_target"]?.bytes()
        if let r = k["retention"] { try e.parseRetention(r) }
        if let r = k["rpo"] { e.rpoSeconds = try r.double(in: 1...604_800) }
        if let b = k["backup_max_age"] { e.backupMaxAgeHours = try b.double(in: 1...8760) }
        for job in try k["schedule"]?.sequence() ?? [] { e.schedule.append(try ScheduledJob.parse(job)) }
        return e
    }

    private mutating func parseRetention(_ node: ConfigNode) throws(ConfigurationError) {
        let k = try node.mapping(allowed: ["redundancy", "window_days"])
        redundancy = try k["redundancy"]?.int(in: 1...10_000)
        windowDays = try k["window_days"]?.double(in: 0.01...36_500)
        if redundancy != nil && windowDays != nil { throw node.error("give `redundancy:` or `window_days:`, not both") }
        if redundancy == nil && windowDays == nil { throw node.error("give `redundancy: N` or `window_days: N`") }
    }
}
