import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    /// The recovery area: the repository directory.
    package var recoveryArea: RecoveryArea { RecoveryArea(root: layout.root) }

    /// `cairn report space`.
    package func spaceReport(now: Date = Date()) -> RecoveryArea.Report {
        recoveryArea.report(control, now: now)
    }

    /// Before `bytes` are written to `path`: when `path` is in the recovery area and the area
    /// has a limit, makes room (deleting obsolete files, then archived-log copies safe
    /// elsewhere) or throws `recoveryAreaFull`. Warns at 85 % of the limit. Capture calls
    /// this before archiving a log: it never waits for another command (beyond the brief
    /// deletion lock), and deletes nothing another command uses.
    func reserveRecoveryArea(bytes: UInt64, for path: String) throws(EngineError) {
        // The in-memory copy follows every update this process makes (each re-reads the
        // newest copy first), so a limit set or raised elsewhere is seen at the next one.
        guard control.policy.recoveryAreaLimit != nil, recoveryArea.contains(path) else { return }
        let c = control
        guard let limit = c.policy.recoveryAreaLimit else { return }
        _ = try makeRoom(bytes, limit: limit, control: c, waitForReaders: false)
    }

    /// Longest wait for the deletion lock when capture makes room (its holders hold it briefly).
    static let captureDeletionWait: Double = 30

    /// Frees enough of the area for `needed` more bytes; returns the bytes in use afterwards.
    /// Nothing another command uses is deleted: with `waitForReaders` (a backup making room)
    /// the deletion waits while commands read stored files; without (capture) it deletes
    /// other candidates, or nothing.
    func makeRoom(_ needed: UInt64, limit: UInt64, control c: ControlFile, waitForReaders: Bool, now: Date = Date()) throws(EngineError) -> UInt64 {
        let area = recoveryArea
        var used = area.measure(c).total
        if used + needed > limit {
            let policy = waitForReaders ? lockWait : lockWait.capped(Self.captureDeletionWait)
            used = try deleting(purpose: "make room in the recovery area", policy: policy) { (session: DeletionSession) throws(EngineError) -> DeletionStep<UInt64> in
                let c = control
                let before = area.measure(c).total
                guard before + needed > limit else { return .done(before) }
                if session.readersActive {
                    if waitForReaders { return .blocked(lockFile: layout.filesLockFile) }
                    logger.warning("the recovery area \(area.root) needs room, but \(LockHolders.describe(layout.filesLockFile)) reads its backups and logs now; nothing is deleted until it has finished")
                }
                let free = area.candidates(c, now: now).filter { !session.inUse($0) }
                guard let plan = RecoveryArea.plan(free, toFree: before + needed - limit) else { return .done(before) }
                let r = try delete(DeletionPlan(plan), session: session)
                logger.notice("recovery area \(area.root): deleted \(r.backups.count) backup(s), \(r.logCopies.count) archived-log cop(ies) and \(r.snapshots.count) snapshot(s) (\(ByteCount.text(r.bytes))) to make room for \(ByteCount.text(needed))")
                return .done(area.measure(control).total)
            }
            if used + needed > limit {
                throw .recoveryAreaFull(limit: limit, used: used, needed: needed, path: area.root)
            }
        }
        if let w = area.warning(used: used + needed, limit: limit) { logger.warning("\(w)") }
        return used
    }

    /// Before a backup: room for about as much as the last backup took (or the database's
    /// size when there is none).
    func recoveryAreaBeforeBackup() throws(EngineError) {
        let c = control
        guard let limit = c.policy.recoveryAreaLimit else { return }
        let last = c.backups.filter(\.isDatabaseBackup).max { $0.id < $1.id }
        let estimate = last?.bytes ?? FileSystem.fileSize(databasePath) ?? 0
        _ = try makeRoom(estimate, limit: limit, control: c, waitForReaders: true)
    }

    /// Before a snapshot is written into the area: room for about as much as the newest
    /// snapshot took (or the last backup, or the database's size).
    func recoveryAreaBeforeSnapshot() throws(EngineError) {
        let c = control
        guard let limit = c.policy.recoveryAreaLimit else { return }
        let newest = recoveryArea.snapshots.max { $0.modified < $1.modified }?.bytes
        let estimate = newest ?? c.backups.filter(\.isDatabaseBackup).max { $0.id < $1.id }?.bytes ?? FileSystem.fileSize(databasePath) ?? 0
        _ = try makeRoom(estimate, limit: limit, control: c, waitForReaders: true)
    }

    /// After a backup was written to `directory` (not yet recorded): if the area is over its
    /// limit even after reclaiming, the backup is removed and the error says so.
    func recoveryAreaAfterBackup(directory: String) throws(EngineError) {
        let c = control
        guard let limit = c.policy.recoveryAreaLimit else { return }
        do throws(EngineError) {
            _ = try makeRoom(0, limit: limit, control: c, waitForReaders: true)
        } catch {
            var size: UInt64 = 0
            RecoveryArea.walk(directory) { _, n in size += n }
            FileSystem.removeTree(directory)
            if case let .recoveryAreaFull(limit, used, _, path) = error {
                throw .recoveryAreaFull(limit: limit, used: used >= size ? used - size : used, needed: size, path: path)
            }
            throw error
        }
    }

    /// After a backup is recorded (the one before it may now be obsolete, and the record
    /// itself takes room): back under the limit if possible, with a warning if not.
    func tidyRecoveryArea() {
        let c = control
        guard let limit = c.policy.recoveryAreaLimit else { return }
        do throws(EngineError) {
            _ = try makeRoom(0, limit: limit, control: c, waitForReaders: false)
        } catch {
            logger.warning("\(error.description)")
        }
    }

    /// Warnings for `status`: the area at ≥ 85 % of its limit, and archiving blocked by it.
    package var recoveryAreaWarnings: [String] {
        let c = control
        var out: [String] = []
        if let limit = c.policy.recoveryAreaLimit {
            let area = recoveryArea
            if let w = area.warning(used: area.measure(c).total, limit: limit) { out.append(w) }
        }
        let blocked = c.redo.logs.filter { l in l.destinations.contains { $0.state == .failed && RecoveryArea.isFullMessage($0.error) } }
            .sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        if let first = blocked.first, let e = first.destinations.first(where: { RecoveryArea.isFullMessage($0.error) })?.error {
            let seqs = blocked.count == 1 ? "log sequence \(first.sequence) is" : "\(blocked.count) logs (sequences \(first.sequence)–\(blocked.last!.sequence)) are"
            out.append("\(seqs) waiting to be archived, and capture stalls once every online log group waits: \(e)")
        }
        return out
    }
}
