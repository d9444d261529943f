import Foundation
import CairnFormats
import CairnCatalog

/// `cairn report need-backup`: whether the database needs a backup now, and why.
package struct NeedBackupReport: Sendable, Codable {
    package var database: String
    package var needed: Bool
    /// The rule applied: "redundancy N", "window D days", "days N" or "none".
    package var rule: String
    /// Why a backup is (or is not) needed, one sentence each.
    package var reasons: [String]
    /// Level-0 backups that are AVAILABLE and on the current incarnation's lineage.
    package var restorableLevel0: Int
    package var newestBackupId: UInt64?
    package var newestBackupAt: Date?
    package var newestBackupAgeDays: Double?
    package var checkedAt: Date
}

extension Catalog {
    /// By the retention policy (redundancy N: fewer than N restorable level-0 backups; window
    /// D days: no restorable level-0 backup old enough to recover to any point of the last D
    /// days), or with `days`: the newest database backup is older than that (or there is
    /// none). In every case a gap after the newest restorable level-0 backup (recovery cannot
    /// reach the present) makes a backup needed.
    package func needBackup(days: Double? = nil, now: Date = Date()) -> NeedBackupReport {
        let c = control
        let engine = RecoveryEngine(database: self, logger: logger)
        let onLineage = c.restorableBackups.filter { engine.place($0.scn, incarnation: $0.incarnation) != nil }
        let level0 = onLineage.filter { $0.level == 0 }.sorted { $0.scn < $1.scn }
        let newest = onLineage.max { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        // Gaps on the lineage, by position; a backup before a gap cannot reach the present.
        func position(_ scn: UInt64, _ inc: Int?) -> (Int, UInt64)? { engine.place(scn, incarnation: inc).map { ($0, scn) } }
        let gaps = c.redo.gaps.compactMap { g in position(g.scn, g.incarnation).map { (g, $0) } }
        func reachesPresent(_ b: BackupRecord) -> Bool {
            guard let p = position(b.scn, b.incarnation) else { return false }
            return !gaps.contains { $0.1.0 > p.0 || ($0.1.0 == p.0 && $0.1.1 > p.1) }
        }
        func describe(_ b: BackupRecord) -> String { "backup \(b.id) (level \(b.level), SCN \(b.scn), \(ISO8601DateFormatter().string(from: b.startedAt)))" }
        func ageDays(_ d: Date) -> Double { now.timeIntervalSince(d) / 86_400 }
        func fmt(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(format: "%.2f", d) }

        var reasons: [String] = []
        var needed = false
        let rule: String
        if let days {
            rule = "days \(fmt(days))"
            if let newest {
                let age = ageDays(newest.startedAt)
                if age > days {
                    needed = true
                    reasons.append("the newest backup, \(describe(newest)), is \(fmt((age * 100).rounded() / 100)) days old, older than \(fmt(days)) days")
                } else {
                    reasons.append("the newest backup, \(describe(newest)), is \(fmt((age * 100).rounded() / 100)) days old, within \(fmt(days)) days")
                }
            } else {
                needed = true
                reasons.append("there is no restorable backup of the database")
            }
        } else {
            switch c.policy.retention {
            case .redundancy(let n):
                rule = "redundancy \(n)"
                if level0.count < n {
                    needed = true
                    reasons.append("the policy keeps \(n) level-0 backup(s) but only \(level0.count) restorable one(s) exist")
                } else {
                    reasons.append("\(level0.count) restorable level-0 backup(s), the policy asks for \(n)")
                }
            case .window(let d):
                rule = "window \(fmt(d)) days"
                let start = now.addingTimeInterval(-d * 86_400)
                let usable = level0.filter(reachesPresent)
                if c.createdAt > start {
                    // Registered within the window: any chain that reaches the present covers it.
                    if let b = usable.first {
                        reasons.append("the database was registered within the window and \(describe(b)) can recover it to any later point")
                    } else {
                        needed = true
                        reasons.append("no restorable level-0 backup can recover the database to the present")
                    }
                } else if let b = usable.last(where: { $0.startedAt <= start }) {
                    reasons.append("\(describe(b)) is older than the window start (\(ISO8601DateFormatter().string(from: start))) and can recover to any point since")
                } else {
                    needed = true
                    reasons.append("no restorable level-0 backup is as old as the window start (\(ISO8601DateFormatter().string(from: start))), so not every point of the last \(fmt(d)) days can be recovered; a backup now starts covering the window from now on")
                }
            case .none:
                rule = "none"
                if level0.isEmpty {
                    needed = true
                    reasons.append("no retention policy is set and there is no restorable level-0 backup")
                } else {
                    reasons.append("no retention policy is set and \(level0.count) restorable level-0 backup(s) exist")
                }
            }
        }
        if let last = level0.last, let p = position(last.scn, last.incarnation),
           let g = gaps.first(where: { $0.1.0 > p.0 || ($0.1.0 == p.0 && $0.1.1 > p.1) }) {
            needed = true
            reasons.append("changes at SCN \(g.0.scn) were never captured (\(g.0.detail)); no backup can recover past it, so a new level-0 backup is needed to start a new chain")
        }
        return NeedBackupReport(database: databasePath, needed: needed, rule: rule, reasons: reasons, restorableLevel0: level0.count,
                                newestBackupId: newest?.id, newestBackupAt: newest?.startedAt,
                                newestBackupAgeDays: newest.map { (ageDays($0.startedAt) * 1000).rounded() / 1000 }, checkedAt: now)
    }
}
