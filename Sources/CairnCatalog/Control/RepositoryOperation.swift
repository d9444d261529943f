import Foundation
import Logging
import CairnFormats

/// One Cairn command (library call) running on a repository, and the locks it holds so that
/// any two commands may run at once: each completes or waits, neither damages the other.
///
/// The locks, all `flock`s on files in `<repo>/control/` (a dead process's locks vanish with
/// it), and who takes them:
///
/// - `operation.lock`, for the whole command: **shared** by every command that reads or
///   changes the repository (backups of every kind, `catalog add`, `crosscheck`, `validate`,
///   `restore --to`/`--validate`, `delete`, `restore-point`, `configure`, `archivelog`);
///   **exclusive** by the two that replace what the others work on: `restore --in-place`
///   (the live database) and `catalog rebuild` (the control file). Capture (`archive`) does
///   not take it: `restore --in-place` and `catalog rebuild` hold the capture lock instead.
/// - `files.lock`: **shared**, for the whole command, by the commands that read stored
///   backups and logs anywhere (`validate`, `restore`, `crosscheck`, `catalog add`);
///   **exclusive**, for a moment, by a deletion while it renames files aside and records it.
/// - `deletion.lock`, exclusive and brief: deciding and recording a deletion, pinning, and
///   creating a guaranteed restore point exclude each other.
/// - `pins/backup-<id>.lock`, `pins/log-<inc>-<seq>.lock`: what a command needs that is not
///   covered by `files.lock`, pinned under `deletion.lock` from the control file read there:
///   a level 1 pins its base chain (shared), an archived-log backup the logs it copies
///   (exclusive: two such backups split the logs instead of copying them twice).
/// - `control.lock` (`ControlFileStore.update`): every control-file update re-reads the
///   newest copy and writes them all under it; backup ids are taken there, and each new
///   id's `backups/.partial-<id>.lock` is created and locked in the same hold
///   (`PartialBackupOwner`), so leftovers are removed only when their writer is dead.
///
/// Order (never the other way): operation → capture → deletion → files → pins → control.
/// Deletions wait while what they would delete is in use (`delete obsolete|expired`,
/// `--delete-input`, a backup making room in the recovery area) or, when capture makes room
/// for an archived log, leave it and delete something else, so capture never waits behind a
/// long command. Read-only commands (`status`, `list`, `report`, `configure show`) take no
/// lock; those that read stored files take theirs without creating or writing anything.
/// Waits follow the command's `LockWaitPolicy`.
package final class RepositoryOperation {
    package enum Access {
        /// Reads only: locks are taken only if their files exist, none is created.
        case reading
        /// Shared with other commands; may create lock files.
        case writing
        /// Alone on the repository (restore in place, catalog rebuild).
        case exclusive
    }

    let layout: RepositoryLayout
    let access: Access
    let policy: LockWaitPolicy
    let log: (String) -> Void
    private var operation: LockFile?
    private var files: LockFile?
    private var pins: [LockFile] = []
    /// Whether this operation registered itself as the thread's one on the repository.
    private var entered = false

    /// Starts an operation: takes `operation.lock` as `access` says (waiting per `policy`).
    /// A thread already running an operation on the same repository reuses its lock.
    package init(layout: RepositoryLayout, access: Access, purpose: String, policy: LockWaitPolicy, log: @escaping (String) -> Void) throws(EngineError) {
        self.layout = layout
        self.access = access
        self.policy = policy
        self.log = log
        guard !OperationNesting.isRunning(layout.root) else { return }
        let lock: LockFile?
        if access == .reading {
            lock = LockFile.openExisting(layout.operationLockFile)
        } else {
            try Self.createLockFiles(layout)
            lock = try LockFile.create(layout.operationLockFile)
        }
        try lock?.lock(access == .exclusive ? .exclusive : .shared, policy: policy, purpose: purpose, log: log)
        operation = lock
        OperationNesting.enter(layout.root)
        entered = true
    }

    deinit { end() }

    /// Creates the lock files (empty) that read-only commands lock but never create.
    package static func createLockFiles(_ layout: RepositoryLayout) throws(EngineError) {
        for path in [layout.operationLockFile, layout.filesLockFile, layout.deletionLockFile] where !FileSystem.exists(path) {
            _ = try LockFile.create(path)
        }
    }

    /// Keeps every stored backup and log in place until the operation ends (`files.lock`
    /// shared); deletions wait for it, or delete nothing, meanwhile.
    package func protectStoredFiles(purpose: String) throws(EngineError) {
        guard files == nil else { return }
        let lock = access == .reading ? LockFile.openExisting(layout.filesLockFile) : try LockFile.create(layout.filesLockFile)
        try lock?.lock(.shared, policy: policy, purpose: purpose, log: log)
        files = lock
    }

    /// Pins backups (shared) and logs (exclusive) until the operation ends; the caller holds
    /// `session`, and chose what to pin from the control file read under it. Returns the logs
    /// it pinned (those another command had pinned already are left out).
    @discardableResult
    package func pin(backups: [UInt64], logs: [LogKey], under session: DeletionSession) throws(EngineError) -> [LogKey] {
        _ = session
        for id in backups {
            let lock = try LockFile.create(layout.pinFile(backup: id))
            if lock.tryLock(.shared) { pins.append(lock) }
        }
        var pinned: [LogKey] = []
        for key in logs {
            let lock = try LockFile.create(layout.pinFile(log: key))
            if lock.tryLock(.exclusive) {
                pins.append(lock)
                pinned.append(key)
            }
        }
        return pinned
    }

    /// Lets go of every pin (what was pinned is recorded safely elsewhere now).
    package func releasePins() {
        for p in pins { p.close() }
        pins = []
    }

    /// Ends the operation: every lock it holds is released.
    package func end() {
        releasePins()
        files?.close()
        files = nil
        operation?.close()
        operation = nil
        if entered {
            OperationNesting.leave(layout.root)
            entered = false
        }
    }
}

/// Which repositories the current thread runs an operation on (a library call that calls
/// another one must not wait for its own lock).
enum OperationNesting {
    private static let key = "cairn.repository-operations"

    private static var running: NSMutableSet {
        let d = Thread.current.threadDictionary
        if let s = d[key] as? NSMutableSet { return s }
        let s = NSMutableSet()
        d[key] = s
        return s
    }

    static func isRunning(_ root: String) -> Bool { running.contains(root) }
    static func enter(_ root: String) { running.add(root) }
    static func leave(_ root: String) { running.remove(root) }
}
