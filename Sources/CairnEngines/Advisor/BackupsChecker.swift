import Foundation
import CairnFormats
import CairnCatalog

/// "backups": backups a crosscheck found gone (EXPIRED), backup sets that failed their
/// periodic integrity check, and no backup (or too few, or none recent enough) for the
/// retention policy.
struct BackupsChecker: FailureChecker {
    var name: String { "backups" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] { expired(ctx) + failedChecks(ctx) + retention(ctx) }

    private func describe(_ b: BackupRecord) -> String {
        let what = b.isDatabaseBackup ? "level-\(b.level) backup" : "archived-log backup set"
        return "\(what) \(b.id) (SCN \(b.scn), \(ISO8601DateFormatter().string(from: b.completedAt)))"
    }

    private func expired(_ ctx: AdvisorContext) -> [FailureFinding] {
        ctx.control.backups.filter { !$0.isAvailable }.map { b in
            FailureFinding(key: "expired:\(b.id)", priority: .low,
                           summary: "\(describe(b)) is EXPIRED: a crosscheck found its files gone or unreadable, so restores never use it",
                           affected: ctx.catalog.layout.root + "/" + b.directory)
        }
    }

    /// Sets that failed their periodic check, but those the retention policy no longer needs.
    private func failedChecks(_ ctx: AdvisorContext) -> [FailureFinding] {
        let obsolete = Set(ctx.obsolescence.backups.map(\.id))
        return ctx.control.restorableBackups.compactMap { b -> FailureFinding? in
            guard let check = b.integrityCheck, !check.ok, !obsolete.contains(b.id) else { return nil }
            let when = ISO8601DateFormatter().string(from: check.checkedAt)
            let newer = ctx.restorable.first { $0.level == 0 && $0.id > b.id }
            if let newer {
                return FailureFinding(key: "pdic:\(b.id):superseded", priority: .low,
                                      summary: "\(describe(b)) failed its periodic integrity check on \(when) (\(check.problem ?? "")); the newer level-0 backup \(newer.id) does not depend on it",
                                      affected: ctx.catalog.layout.root + "/" + b.directory)
            }
            return FailureFinding(key: "pdic:\(b.id)", priority: .high,
                                  summary: "\(describe(b)) failed its periodic integrity check on \(when) (\(check.problem ?? "")), and no newer level-0 backup exists: a restore that needs it would fail",
                                  affected: ctx.catalog.layout.root + "/" + b.directory)
        }
    }

    private func retention(_ ctx: AdvisorContext) -> [FailureFinding] {
        let db = ctx.db, root = ctx.catalog.layout.root
        let level0 = ctx.restorable.filter { $0.level == 0 }
        guard let newest = level0.max(by: { $0.completedAt < $1.completedAt }) else {
            return [FailureFinding(key: "none", priority: .high,
                                   summary: "no usable level-0 backup of \(db) exists on the current incarnation: nothing can be restored", affected: root)]
        }
        switch ctx.control.policy.retention {
        case .none:
            return []
        case .redundancy(let n):
            let kept = level0.filter { !$0.isKept(at: ctx.now) }.count
            guard kept < n else { return [] }
            return [FailureFinding(key: "redundancy", priority: .low,
                                   summary: "only \(kept) of the \(n) level-0 backups the retention policy (redundancy \(n)) keeps exist", affected: root)]
        case .window(let days):
            let age = ctx.now.timeIntervalSince(newest.completedAt)
            guard age > days * 86_400 else { return [] }
            return [FailureFinding(key: "window", priority: .high,
                                   summary: "the newest level-0 backup (\(newest.id), \(ISO8601DateFormatter().string(from: newest.completedAt))) is \(Int(age / 86_400)) days old, older than the \(days.formatted())-day recovery window: every recovery depends on all the logs since",
                                   affected: root)]
        }
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        if f.key.hasPrefix("expired:") {
            let id = f.key.dropFirst("expired:".count)
            return .manualOnly([
                "If the files of backup \(id) come back (a remounted disk, a restored copy of the repository), `cairn crosscheck \(db)` marks it AVAILABLE again.",
                "Otherwise remove its record with `cairn delete expired \(db)`.",
            ], because: "Cairn cannot bring back files that are gone; deleting a record is left to you")
        }
        if f.key.hasSuffix(":superseded") {
            let id = f.key.dropFirst("pdic:".count).prefix { $0 != ":" }
            return .manualOnly([
                "Run `cairn validate \(db) --backup \(id)` to see what is wrong with it.",
                "Recovery starts from the newer level-0 backup; backup \(id) becomes obsolete under the retention policy and `cairn delete obsolete \(db)` removes it then.",
            ], because: "a newer level-0 backup already covers it")
        }
        if f.key.hasPrefix("pdic:") {
            let id = f.key.dropFirst("pdic:".count)
            return RepairActions.options([
                "Run `cairn validate \(db) --backup \(id)` to see what is wrong with it.",
                "Take a level-0 backup with `cairn backup \(db)`, so that no restore needs backup \(id).",
            ], RepairActions.level0Backup(ctx, because: "so that no restore needs backup \(id)"))
        }
        return RepairActions.options([
            "Take a level-0 backup with `cairn backup \(db)`, and schedule backups (a backup job of the agent, or a timer running `cairn backup \(db)`).",
        ], RepairActions.level0Backup(ctx, because: "to meet the retention policy"))
    }
}
