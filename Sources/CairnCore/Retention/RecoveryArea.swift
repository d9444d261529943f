import Foundation

/// The recovery area is the repository directory: backups, log backups, archived logs and
/// online logs kept there count against `policy.recoveryAreaLimit`. When room is needed,
/// obsolete files go first, then archived-log copies in the area whose log is safe elsewhere
/// (another ARCHIVED copy outside the area, or an AVAILABLE archived-log backup set), oldest
/// first. Nothing the retention policy or a guaranteed restore point needs is ever deleted.
public struct RecoveryArea: Sendable {
    public let root: String

    public init(root: String) { self.root = FileSystem.absolute(root) }

    public func contains(_ path: String) -> Bool {
        let p = FileSystem.absolute(path)
        return p == root || p.hasPrefix(root + "/")
    }

    /// Bytes by what they are.
    public struct Categories: Sendable, Codable, Equatable {
        public var backups: UInt64 = 0
        public var logBackups: UInt64 = 0
        public var archivedLogs: UInt64 = 0
        public var onlineLogs: UInt64 = 0
        public var other: UInt64 = 0
        public var total: UInt64 { backups + logBackups + archivedLogs + onlineLogs + other }
    }

    /// Walks the repository and sorts every file into a category.
    public func measure(_ c: ControlFile) -> Categories {
        var cat = Categories()
        let backupsDir = root + "/backups/"
        let logSets = Set(c.backups.filter { $0.kind == .archivedLogs }.map { root + "/" + $0.directory + "/" })
        let archives = c.redo.archiveDestinations.map { FileSystem.absolute($0) + "/" }.filter { contains($0) }
        let online = c.redo.memberDirectories.map { FileSystem.absolute($0) + "/" }.filter { contains($0) }
        Self.walk(root) { path, size in
            if path.hasPrefix(backupsDir) {
                if logSets.contains(where: { path.hasPrefix($0) }) { cat.logBackups += size } else { cat.backups += size }
            } else if archives.contains(where: { path.hasPrefix($0) }) {
                cat.archivedLogs += size
            } else if online.contains(where: { path.hasPrefix($0) }) {
                cat.onlineLogs += size
            } else {
                cat.other += size
            }
        }
        return cat
    }

    /// Every regular file under `dir` (symbolic links are not followed) with its size.
    static func walk(_ dir: String, _ visit: (String, UInt64) -> Void) {
        for name in FileSystem.list(dir) {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(path, visit)
            case S_IFREG: visit(path, UInt64(st.st_size))
            default: break
            }
        }
    }

    /// Something that can be deleted to make room, in the order it would be.
    public struct Candidate: Sendable, Codable, Equatable {
        public enum What: String, Sendable, Codable { case obsoleteBackup, obsoleteLogCopy, logCopySafeElsewhere }
        public var what: What
        public var backupId: UInt64?
        public var log: LogKey?
        public var destination: String?
        public var bytes: UInt64
        public var date: Date
    }

    /// What could be deleted to make room: obsolete backups and archived-log copies in the
    /// area, then copies in the area of logs that are safe elsewhere; each group oldest first.
    public func candidates(_ c: ControlFile, now: Date = Date()) -> [Candidate] {
        let obsolete = Obsolescence.compute(c, now: now)
        var first: [Candidate] = []
        for b in obsolete.backups where contains(root + "/" + b.directory) {
            first.append(Candidate(what: .obsoleteBackup, backupId: b.id, bytes: b.bytes, date: b.completedAt))
        }
        let byKey = Dictionary(c.redo.logs.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let obsoleteKeys = Set(obsolete.logs.map(\.key))
        for l in obsolete.logs {
            let date = byKey[l.key].map { $0.highTime ?? $0.closedAt } ?? .distantPast
            for d in l.copies where contains(d) {
                first.append(Candidate(what: .obsoleteLogCopy, log: l.key, destination: d, bytes: l.bytes / UInt64(max(1, l.copies.count)), date: date))
            }
        }
        let heldBySet = Self.logsInAvailableSets(c)
        var second: [Candidate] = []
        for l in c.redo.logs where l.status == .archived && !obsoleteKeys.contains(l.key) {
            let archived = l.destinations.filter { $0.state == .archived }
            let safeOutside = archived.contains { !contains($0.destination) }
            guard safeOutside || heldBySet.contains(l.key) else { continue }
            for d in archived where contains(d.destination) {
                second.append(Candidate(what: .logCopySafeElsewhere, log: l.key, destination: d.destination, bytes: l.bytes,
                                        date: l.highTime ?? l.closedAt))
            }
        }
        return first.sorted { $0.date < $1.date } + second.sorted { $0.date < $1.date }
    }

    /// Logs held by an AVAILABLE archived-log backup set.
    static func logsInAvailableSets(_ c: ControlFile) -> Set<LogKey> {
        let sets = c.backups.filter { $0.kind == .archivedLogs && $0.isAvailable }
        var keys = Set(sets.flatMap { $0.logs ?? [] })
        let ids = Set(sets.map(\.id))
        for l in c.redo.logs where (l.backupSets ?? []).contains(where: ids.contains) { keys.insert(l.key) }
        return keys
    }

    /// The shortest prefix of `candidates` that frees at least `bytes`; nil when all of them
    /// together do not.
    public static func plan(_ candidates: [Candidate], toFree bytes: UInt64) -> [Candidate]? {
        var freed: UInt64 = 0
        var out: [Candidate] = []
        for c in candidates {
            if freed >= bytes { break }
            out.append(c)
            freed += c.bytes
        }
        return freed >= bytes ? out : nil
    }

    /// Usage of the area as `cairn report space` shows it.
    public struct Report: Sendable, Codable, Equatable {
        public var path: String
        public var limit: UInt64?
        public var used: UInt64
        /// Share of the limit in use, in percent (nil without a limit).
        public var percent: Double?
        public var reclaimable: UInt64
        public var categories: Categories
        public var warning: String?
    }

    public func report(_ c: ControlFile, now: Date = Date()) -> Report {
        let cat = measure(c)
        let limit = c.policy.recoveryAreaLimit
        let percent = limit.map { $0 == 0 ? 100 : Double(cat.total) / Double($0) * 100 }
        let reclaimable = candidates(c, now: now).reduce(0) { $0 + $1.bytes }
        return Report(path: root, limit: limit, used: cat.total, percent: percent, reclaimable: reclaimable, categories: cat,
                      warning: limit.flatMap { warning(used: cat.total, limit: $0) })
    }

    /// The warning at ≥ 85 % of the limit, or nil below it.
    public func warning(used: UInt64, limit: UInt64) -> String? {
        guard limit > 0 ? Double(used) >= Double(limit) * Policy.warningFraction : true else { return nil }
        let pct = limit == 0 ? 100 : Int((Double(used) / Double(limit) * 100).rounded(.down))
        return "the recovery area \(root) is \(pct) % full (\(ByteCount.text(used)) of \(ByteCount.text(limit))); obsolete files are deleted when room is needed, but raise the limit with `cairn configure DB recovery-area-size SIZE` or delete backups before it fills"
    }

    /// Why the log in `group` cannot be archived, when the recovery area is the cause.
    static func stallReason(_ c: ControlFile, group g: RedoState.LogGroup) -> String? {
        guard let seq = g.sequence,
              let l = c.redo.logs.first(where: { $0.sequence == seq && $0.incarnation == (g.incarnation ?? c.incarnation) }) else { return nil }
        return l.destinations.first { $0.state == .failed && isFullMessage($0.error) }?.error
    }

    /// True for the description of `CairnError.recoveryAreaFull` (kept in a destination's error).
    static func isFullMessage(_ s: String?) -> Bool {
        guard let s else { return false }
        return s.hasPrefix("The recovery area ") && s.contains(" is full:")
    }
}

/// Byte counts in words for messages (binary units).
public enum ByteCount {
    public static func text(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}
