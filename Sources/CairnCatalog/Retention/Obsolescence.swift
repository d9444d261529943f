import Foundation
import CairnFormats

/// A backup the retention policy no longer needs.
package struct ObsoleteBackup: Sendable, Codable, Equatable {
    package var id: UInt64
    package var kind: String
    package var level: Int
    package var scn: UInt64
    package var incarnation: Int
    package var completedAt: Date
    package var bytes: UInt64
    package var directory: String
    package var reason: String
}

/// An archived log the retention policy no longer needs.
package struct ObsoleteLog: Sendable, Codable, Equatable {
    package var incarnation: Int
    package var sequence: UInt64
    package var lowScn: UInt64
    package var highScn: UInt64
    /// Bytes of its copies in the archive destinations (ARCHIVED ones).
    package var bytes: UInt64
    package var copies: [String]
    package var reason: String
    package var key: LogKey { LogKey(incarnation: incarnation, sequence: sequence) }
}

/// An automatic snapshot the daily-snapshot policy no longer keeps.
package struct ObsoleteSnapshot: Sendable, Codable, Equatable {
    package var name: String
    package var bytes: UInt64
    package var takenAt: Date
    package var reason: String
}

/// What `cairn report obsolete` shows and `cairn delete obsolete` removes.
package struct ObsolescenceReport: Sendable, Codable, Equatable {
    /// The policy in words ("redundancy 2", "window 7 days", "none").
    package var retention: String
    /// The oldest backup retention keeps: everything recovery from it onwards needs is kept.
    package var floorBackupId: UInt64?
    package var floorScn: UInt64?
    package var floorIncarnation: Int?
    package var backups: [ObsoleteBackup]
    package var logs: [ObsoleteLog]
    /// Automatic snapshots beyond the daily snapshot's `keep` (named ones are never obsolete).
    package var snapshots: [ObsoleteSnapshot] = []
    package var bytes: UInt64

    package var isEmpty: Bool { backups.isEmpty && logs.isEmpty && snapshots.isEmpty }
}

/// The obsolescence calculator: a pure function of the control file and the time.
///
/// - none: nothing is obsolete.
/// - redundancy N: the N newest level-0 backups (AVAILABLE, not archival-kept) are kept;
///   the oldest of them is the floor.
/// - window D days: the floor is the newest level 0 completed at or before now − D (if none,
///   the oldest level 0), so any point in the window can be reached.
///
/// Older level 0s are obsolete, and so are level 1s whose chain leads to an obsolete or
/// missing backup, archived logs of earlier incarnations or ending before the floor's SCN,
/// and archived-log backup sets all of whose logs are obsolete. Never obsolete: the newest
/// level-0 chain, online or unarchived logs, EXPIRED records (see `delete expired`),
/// archival backups while kept, and whatever a guaranteed restore point needs.
/// Snapshots are self-contained, so the backup policy does not reach them: automatic ones
/// beyond the daily snapshot's `keep` are obsolete (`DailySnapshot.obsolete`), named ones never.
package enum Obsolescence {
    package static func describe(_ r: Policy.Retention) -> String {
        switch r {
        case .none: return "none"
        case .redundancy(let n): return "redundancy \(n)"
        case .window(let d): return "window \(d.formatted()) day\(d == 1 ? "" : "s")"
        }
    }

    /// `snapshots`: the repository's snapshot files (`StoredSnapshot.list`).
    package static func compute(_ c: ControlFile, now: Date = Date(), snapshots: [StoredSnapshot] = []) -> ObsolescenceReport {
        var report = ObsolescenceReport(retention: describe(c.policy.retention), floorBackupId: nil, floorScn: nil,
                                        floorIncarnation: nil, backups: [], logs: [], bytes: 0)
        report.snapshots = c.policy.dailySnapshot.map { $0.obsolete(snapshots) } ?? []
        report.bytes = report.snapshots.reduce(0) { $0 + $1.bytes }
        report = backupsAndLogs(c, now: now, into: report)
        return report
    }

    private static func backupsAndLogs(_ c: ControlFile, now: Date, into report: ObsolescenceReport) -> ObsolescenceReport {
        var report = report
        // Candidates: level 0s retention counts, newest first (ids grow with time).
        let level0 = c.backups.filter { $0.isDatabaseBackup && $0.level == 0 && $0.isAvailable && !$0.isKept(at: now) }
            .sorted { $0.id > $1.id }
        let floor: BackupRecord?
        switch c.policy.retention {
        case .none:
            return report
        case .redundancy(let n):
            floor = level0.prefix(max(1, n)).last
        case .window(let days):
            let cutoff = now.addingTimeInterval(-days * 86_400)
            floor = level0.first { $0.completedAt <= cutoff } ?? level0.last
        }
        guard let floor else { return report }
        report.floorBackupId = floor.id
        report.floorScn = floor.scn
        report.floorIncarnation = floor.incarnation
        let guarded = RestorePointGuarantee.protected(c)
        let policyWords = report.retention

        var obsoleteIds: Set<UInt64> = []
        for b in level0 where b.id < floor.id && !guarded.backups.contains(b.id) {
            obsoleteIds.insert(b.id)
            let why: String
            switch c.policy.retention {
            case .redundancy(let n): why = "older than the \(n) newest level-0 backup\(n == 1 ? "" : "s") kept by \(policyWords)"
            default: why = "older than backup \(floor.id), the newest level 0 needed to recover to any point of the \(policyWords)"
            }
            report.backups.append(row(b, why))
        }
        // Level 1s follow their chain down to a level 0.
        for b in c.backups where b.isDatabaseBackup && b.level > 0 && b.isAvailable && !b.isKept(at: now) && !guarded.backups.contains(b.id) {
            guard let chain = c.recordedChain(of: b) else {
                obsoleteIds.insert(b.id)
                report.backups.append(row(b, "its chain is broken: base backup \(b.baseId.map(String.init) ?? "?") is no longer recorded"))
                continue
            }
            if let dead = chain.dropFirst().first(where: { obsoleteIds.contains($0.id) && $0.level == 0 }) {
                obsoleteIds.insert(b.id)
                report.backups.append(row(b, "level 1 based on backup \(dead.id), which is obsolete"))
            }
        }

        var obsoleteLogs: Set<LogKey> = []
        for l in c.redo.logs where l.status == .archived && !guarded.logs.contains(l.key) {
            let why: String
            if l.incarnation < floor.incarnation {
                why = "log of incarnation \(l.incarnation), before incarnation \(floor.incarnation) of backup \(floor.id), the oldest backup kept"
            } else if l.incarnation == floor.incarnation && l.highScn < floor.scn {
                why = "ends at SCN \(l.highScn), before SCN \(floor.scn) of backup \(floor.id), the oldest backup kept"
            } else {
                continue
            }
            obsoleteLogs.insert(l.key)
            let copies = l.destinations.filter { $0.state == .archived }.map(\.destination)
            report.logs.append(ObsoleteLog(incarnation: l.incarnation, sequence: l.sequence, lowScn: l.lowScn, highScn: l.highScn,
                                           bytes: l.bytes * UInt64(copies.count), copies: copies, reason: why))
        }
        let recorded = Set(c.redo.logs.map(\.key))
        for b in c.backups where b.kind == .archivedLogs && b.isAvailable && !b.isKept(at: now) {
            let keys = b.logs ?? []
            let allObsolete = keys.allSatisfy { k in
                recorded.contains(k) ? obsoleteLogs.contains(k) : k.incarnation < floor.incarnation && !guarded.logs.contains(k)
            }
            guard allObsolete else { continue }
            report.backups.append(row(b, keys.isEmpty ? "holds no logs" : "every log it holds is obsolete"))
        }
        report.backups.sort { $0.id < $1.id }
        report.logs.sort { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        report.bytes += report.backups.reduce(0) { $0 + $1.bytes } + report.logs.reduce(0) { $0 + $1.bytes }
        return report
    }

    static func row(_ b: BackupRecord, _ reason: String) -> ObsoleteBackup {
        ObsoleteBackup(id: b.id, kind: b.kind.rawValue, level: b.level, scn: b.scn, incarnation: b.incarnation,
                       completedAt: b.completedAt, bytes: b.bytes, directory: b.directory, reason: reason)
    }
}
