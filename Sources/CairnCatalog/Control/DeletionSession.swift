import Foundation
import CairnFormats

/// The deletion lock held (see `RepositoryOperation`): while it lasts no other process
/// decides or records a deletion, pins anything, or creates a guaranteed restore point, so
/// what a deletion finds pinned, and what it records, stays true until it ends. With
/// `files`, the session also tries `files.lock` exclusively: when that succeeds no command is
/// reading stored backups and logs, and none starts until the session ends.
package final class DeletionSession {
    let layout: RepositoryLayout
    private var lock: LockFile?
    private var files: LockFile?
    private var probed: [String: Bool] = [:]

    package init(layout: RepositoryLayout, files takeFiles: Bool, policy: LockWaitPolicy, purpose: String, log: (String) -> Void) throws(EngineError) {
        self.layout = layout
        let lock = try LockFile.create(layout.deletionLockFile)
        try lock.lock(.exclusive, policy: policy, purpose: purpose, log: log)
        self.lock = lock
        if takeFiles {
            let f = try LockFile.create(layout.filesLockFile)
            if f.tryLock(.exclusive) { files = f }
        }
    }

    deinit { end() }

    /// Whether some command reads stored backups and logs now (then everything is in use).
    package var readersActive: Bool { files == nil }

    /// Whether a running command needs backup `id` (it reads stored files, or pinned it).
    func inUse(backup id: UInt64) -> Bool { readersActive || pinned(layout.pinFile(backup: id)) }

    /// Whether a running command needs the copies of log `key`.
    package func inUse(log key: LogKey) -> Bool { readersActive || pinned(layout.pinFile(log: key)) }

    /// Whether a running command needs what `candidate` would delete.
    package func inUse(_ candidate: RecoveryArea.Candidate) -> Bool {
        if let id = candidate.backupId, inUse(backup: id) { return true }
        if let key = candidate.log, inUse(log: key) { return true }
        return false
    }

    /// The lock file that makes something of `plan` in use, or nil when nothing of it is.
    package func blocker(of plan: DeletionPlan) -> String? {
        if plan.isEmpty { return nil }
        if readersActive { return layout.filesLockFile }
        if let id = plan.backups.first(where: inUse(backup:)) { return layout.pinFile(backup: id) }
        if let key = plan.logCopies.keys.first(where: inUse(log:)) { return layout.pinFile(log: key) }
        return nil
    }

    /// A pin file is held when it exists and cannot be locked exclusively now.
    private func pinned(_ path: String) -> Bool {
        if let known = probed[path] { return known }
        var held = false
        if let f = LockFile.openExisting(path) {
            held = !f.tryLock(.exclusive)
            f.close()
        }
        probed[path] = held
        return held
    }

    /// Removes the pin files of things deleted (no one holds them: they were not in use, and
    /// nobody pins while this session lasts).
    package func forget(backups: [UInt64], logs: [LogKey]) {
        for id in backups { FileSystem.removeFile(layout.pinFile(backup: id)) }
        for key in logs { FileSystem.removeFile(layout.pinFile(log: key)) }
    }

    package func end() {
        files?.close()
        files = nil
        lock?.close()
        lock = nil
    }
}
