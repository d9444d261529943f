import Foundation
import CairnFormats
import CairnCatalog

/// The automatic repairs several checkers share, each checked to be feasible with what is
/// there now (or the reason it is not), carried out by the existing engines.
enum RepairActions {
    /// A level-0 backup, so that recovery starts after what is broken (a gap, a missing log, a
    /// backup set that failed its check) and the retention policy is met again.
    static func level0Backup(_ ctx: AdvisorContext, because purpose: String) -> (AutomaticRepair?, String?) {
        let db = ctx.db
        if let why = backupImpossible(ctx) { return (nil, why) }
        let c = ctx.control
        let last = c.backups.filter(\.isDatabaseBackup).max { $0.id < $1.id }
        let size = last.map { "about \(ByteCount.text($0.bytes)), as the last one took" } ?? (FileSystem.fileSize(db).map { "up to \(ByteCount.text($0)) (the database's size)" } ?? "")
        let description = "take a level-0 backup of \(db) (the next id is \(c.nextBackupId); \(size)) \(purpose)"
        let catalog = ctx.catalog
        return (AutomaticRepair(action: "level-0 backup", description: description, identity: "level-0 backup") { () throws(EngineError) -> String in
            var o = BackupOptions()
            o.level = 0
            o.tag = "repair"
            let r = try catalog.backup(o)
            return "level-0 backup \(r.id) at SCN \(r.scn)"
        }, nil)
    }

    /// Why a backup cannot be taken now, or nil.
    static func backupImpossible(_ ctx: AdvisorContext) -> String? {
        let db = ctx.db
        guard FileSystem.exists(db) else { return "the database \(db) is missing: restore it first" }
        do throws(EngineError) { _ = try LiveDatabaseProbe.header(db) } catch {
            return "the database cannot be backed up: \(error.description)"
        }
        guard let limit = ctx.control.policy.recoveryAreaLimit else { return nil }
        let area = ctx.catalog.recoveryArea
        let used = area.measure(ctx.control).total
        let last = ctx.control.backups.filter(\.isDatabaseBackup).max { $0.id < $1.id }
        let estimate = last?.bytes ?? FileSystem.fileSize(db) ?? 0
        let reclaimable = area.candidates(ctx.control, now: ctx.now).reduce(UInt64(0)) { $0 + $1.bytes }
        if used + estimate > limit && used - min(used, reclaimable) + estimate > limit {
            return "the recovery area has no room for it (\(ByteCount.text(used)) of \(ByteCount.text(limit)) used, \(ByteCount.text(reclaimable)) reclaimable, about \(ByteCount.text(estimate)) needed): raise the limit with `cairn configure \(db) recovery-area-size SIZE` first"
        }
        return nil
    }

    /// Complete recovery of the live database in place: the backup and the logs the restore
    /// engine plans to use (everything captured), or why no restore is possible.
    /// With `keepingDamagedFile`, the live file (and its WAL) is first kept under a dated name.
    static func restoreComplete(_ ctx: AdvisorContext, keepingDamagedFile: Bool = false) -> (AutomaticRepair?, String?) {
        let catalog = ctx.catalog, db = ctx.db
        if ctx.control.redo.mode == .archivelog && ctx.captureRunning {
            return (nil, "a capture process holds the capture lock; stop it first (a capture of a deleted or replaced database stops by itself)")
        }
        let reach = catalog.recoveryReach
        guard let backupId = reach.backupId, let target = reach.recoverableScn,
              let b = ctx.control.backups.first(where: { $0.id == backupId }) else {
            return (nil, "no usable backup can start a recovery (\(reach.shortfall?.reason ?? "none is recorded")); rebuild the control file from a copy of the repository with `cairn catalog rebuild \(db) --repo DIR`, or restore from a remote repository")
        }
        let logs = logsBetween(ctx, after: b, through: target)
        var description = "restore backup \(b.id) (level \(b.level), SCN \(b.scn)) in place of \(db) and apply \(logs) to SCN \(target)"
        if let s = reach.shortfall {
            description += "; that leaves out \(s.transactions) captured transaction(s) (SCN \(s.fromScn)–\(s.toScn)): \(s.reason)"
        }
        if keepingDamagedFile { description += "; the damaged file is kept as \(db).cairn-damaged-TIME" }
        return (AutomaticRepair(action: "restore (complete recovery)", description: description, identity: "restore (complete recovery)") { () throws(EngineError) -> String in
            let kept = keepingDamagedFile ? try keepAside(db) : nil
            let r = try catalog.recoverInPlace(target: .complete)
            return "restored backup \(r.backupId) and recovered to SCN \(r.scn)" + (kept.map { "; the damaged file is kept as \($0)" } ?? "")
        }, nil)
    }

    /// Keeps the live database file (a hard link) and its WAL (moved) under a dated name before
    /// a restore replaces them; returns that name.
    static func keepAside(_ db: String) throws(EngineError) -> String {
        let aside = db + ".cairn-damaged-\(Int(Date().timeIntervalSince1970))"
        if link(db, aside) != 0 { throw EngineError.fromErrno("keep the damaged database as", aside, errno) }
        if FileSystem.exists(db + "-wal") { try FileSystem.rename(db + "-wal", aside + "-wal") }
        try FileSystem.fsyncDirectory(FileSystem.parent(of: db))
        return aside
    }

    /// The log sequences a recovery from `b` to `target` reads, in words.
    static func logsBetween(_ ctx: AdvisorContext, after b: BackupRecord, through target: UInt64) -> String {
        let used = ctx.control.redo.logs.filter { l in
            ctx.onLineage(scn: l.lowScn, incarnation: l.incarnation) && l.highScn > b.scn && l.lowScn <= target
        }
        var parts: [String] = []
        for inc in Set(used.map(\.incarnation)).sorted() {
            let seqs = used.filter { $0.incarnation == inc }.map(\.sequence).sorted()
            guard let first = seqs.first, let last = seqs.last else { continue }
            parts.append(first == last ? "sequence \(first) of incarnation \(inc)" : "sequences \(first)–\(last) of incarnation \(inc)")
        }
        if target > (used.map(\.highScn).max() ?? b.scn) { parts.append("the current online log") }
        return parts.isEmpty ? "no log" : "log " + parts.joined(separator: ", ")
    }

    /// `delete obsolete`: what the retention policy no longer needs, when there is any.
    static func deleteObsolete(_ ctx: AdvisorContext) -> (AutomaticRepair?, String?) {
        let o = ctx.obsolescence
        guard !o.isEmpty else {
            return (nil, "nothing is obsolete under the retention policy (\(o.retention))")
        }
        let catalog = ctx.catalog, now = ctx.now
        let ids = o.backups.map { String($0.id) }.joined(separator: ", ")
        let what = (o.backups.isEmpty ? "" : "backup(s) \(ids)") + (o.backups.isEmpty || o.logs.isEmpty ? "" : " and ")
            + (o.logs.isEmpty ? "" : "\(o.logs.count) archived log(s)")
        return (AutomaticRepair(action: "delete obsolete", description: "delete what the retention policy (\(o.retention)) no longer needs: \(what), \(ByteCount.text(o.bytes))", identity: "delete obsolete") { () throws(EngineError) -> String in
            let r = try catalog.deleteObsolete(now: now)
            return "deleted \(r.backups.count) obsolete backup(s) and \(r.logCopies.count) archived-log cop(ies), \(ByteCount.text(r.bytes)) freed"
        }, nil)
    }

    /// Options from a shared action: manual steps, and the action or why it is not possible.
    static func options(_ manual: [String], _ action: (AutomaticRepair?, String?)) -> RepairOptions {
        RepairOptions(manual: manual, automatic: action.0, noAutomatic: action.1)
    }
}
