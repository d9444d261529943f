import Foundation
import CairnFormats

/// The recovery area is the repository directory: backups, log backups, archived logs and
/// online logs kept there count against `policy.recoveryAreaLimit`. When room is needed,
/// obsolete files go first, then archived-log copies in the area whose log is safe elsewhere
/// (another ARCHIVED copy outside the area, or an AVAILABLE archived-log backup set), oldest
/// first. Nothing the retention policy or a guaranteed restore point needs is ever deleted.
package struct RecoveryArea: Sendable {
    package let root: String

    package init(root: String) { self.root = FileSystem.absolute(root) }

    package func contains(_ path: String) -> Bool {
        let p = FileSystem.absolute(path)
        return p == root || p.hasPrefix(root + "/")
    }

    /// Bytes by what they are.
    package struct Categories: Sendable, Codable, Equatable {
        package var backups: UInt64 = 0
        package var logBackups: UInt64 = 0
        package var archivedLogs: UInt64 = 0
        package var onlineLogs: UInt64 = 0
        /// Snapshot files (`snapshots/`, see `cairn snapshot`).
        package var snapshots: UInt64 = 0
        package var other: UInt64 = 0
        package var total: UInt64 { backups + logBackups + archivedLogs + onlineLogs + snapshots + other }
    }

    /// Walks the repository and sorts every file into a category.
    package func measure(_ c: ControlFile) -> Categories {
        var cat = Categories()
        let backupsDir = root + "/backups/", snapshotsDir = StoredSnapshot.directory(root: root) + "/"
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
            } else if path.hasPrefix(snapshotsDir) {
                cat.snapshots += size
            } else {
                cat.other += size
            }
        }
        return cat
    }

    /// Every regular file under `dir` (symbolic links are not followed) with its size.
    package static func walk(_ dir: String, _ visit: (String, UInt64) -> Void) {
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
    package struct Candidate: Sendable, Codable, Equatable {
        package enum What: String, Sendable, Codable { case obsoleteBackup, obsoleteLogCopy, obsoleteSnapshot, logCopySafeElsewhere }
        package var what: What
        package var backupId: UInt64?
        /// The snapshot's name (`obsoleteSnapshot`).
        package var snapshot: String?
        package var log: LogKey?
        package var destination: String?
        package var bytes: UInt64
        package var date: Date
    }

    /// The snapshot files in the area.
    package var snapshots: [StoredSnapshot] { StoredSnapshot.list(root: root) }

    /// What could be deleted to make room: obsolete backups, archived-log copies and automatic
    /// snapshots in the area, then copies in the area of logs that are safe elsewhere; each
    /// group oldest first.
    package func candidates(_ c: ControlFile, now: Date = Date()) -> [Candidate] {
        let obsolete = Obsolescence.compute(c, now: now, snapshots: snapshots)
        var first: [Candidate] = obsolete.snapshots.map {
            Candidate(what: .obsoleteSnapshot, snapshot: $0.name, bytes: $0.bytes, date: $0.takenAt)
        }
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
    package static func logsInAvailableSets(_ c: ControlFile) -> Set<LogKey> {
        let sets = c.backups.filter { $0.kind == .archivedLogs && $0.isAvailable }
        var keys = Set(sets.flatMap { $0.logs ?? [] })
        let ids = Set(sets.map(\.id))
        for l in c.redo.logs where (l.backupSets ?? []).contains(where: ids.contains) { keys.insert(l.key) }
        return keys
    }

    /// The shortest prefix of `candidates` that frees at least `bytes`; nil when all of them
    /// together do not.
    package static func plan(_ candidates: [Candidate], toFree bytes: UInt64) -> [Candidate]? {
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
    package struct Report: Sendable, Codable, Equatable {
        package var path: String
        package var limit: UInt64?
        package var used: UInt64
        /// Share of the limit in use, in percent (nil without a limit).
        package var percent: Double?
        package var reclaimable: UInt64
        package var categories: Categories
        package var warning: String?
        /// Requests sent to object storage for this database so far, by kind.
        package var objectRequests: [String: UInt64] = [:]
    }

    package func report(_ c: ControlFile, now: Date = Date()) -> Report {
        let cat = measure(c)
        let limit = c.policy.recoveryAreaLimit
        let percent = limit.map { $0 == 0 ? 100 : Double(cat.total) / Double($0) * 100 }
        let reclaimable = candidates(c, now: now).reduce(0) { $0 + $1.bytes }
        return Report(path: root, limit: limit, used: cat.total, percent: percent, reclaimable: reclaimable, categories: cat,
                      warning: limit.flatMap { warning(used: cat.total, limit: $0) }, objectRequests: c.objectRequests ?? [:])
    }

    /// The warning at ≥ 85 % of the limit, or nil below it.
    package func warning(used: UInt64, limit: UInt64) -> String? {
        guard limit > 0 ? Double(used) >= Double(limit) * Policy.warningFraction : true else { return nil }
        let pct = limit == 0 ? 100 : Int((Double(used) / Double(limit) * 100).rounded(.down))
        return "the recovery area \(root) is \(pct) % full (\(ByteCount.text(used)) of \(ByteCount.text(limit))); obsolete files are deleted when room is needed, but raise the limit with `cairn configure DB recovery-area-size SIZE` or delete backups before it fills"
    }

    /// Why the log in `group` cannot be archived, when the recovery area is the cause.
    package static func stallReason(_ c: ControlFile, group g: RedoState.LogGroup) -> String? {
        guard let seq = g.sequence,
              let l = c.redo.logs.first(where: { $0.sequence == seq && $0.incarnation == (g.incarnation ?? c.incarnation) }) else { return nil }
        return l.destinations.first { $0.state == .failed && isFullMessage($0.error) }?.error
    }

    /// True for the description of `EngineError.recoveryAreaFull` (kept in a destination's error).
    package static func isFullMessage(_ s: String?) -> Bool {
        guard let s else { return false }
        return s.hasPrefix("The recovery area ") && s.contains(" is full:")
    }
}
