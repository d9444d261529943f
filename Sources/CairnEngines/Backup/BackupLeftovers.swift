import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Removes what dead processes left in `backups/`, and nothing a live one still uses:
/// - a `.partial-<id>` directory (and its `.partial-<id>.lock`) only when its writer is dead:
///   the lock file is missing or this process can lock it itself (`PartialBackupOwner`);
///   owner locks are looked at only under the control-file lock, where ids are claimed;
/// - a `.deleting-*` directory (a deletion renamed it aside, then was interrupted) only under
///   the deletion lock, outside of which no deletion is between its rename and its record.
enum BackupLeftovers {
    static func remove(layout: RepositoryLayout, logger: Logger) {
        for dead in deadPartials(layout) {
            logger.info("removing incomplete backup \((dead.path as NSString).lastPathComponent) (its writer is gone)")
            FileSystem.removeTree(dead.directory)
            FileSystem.removeFile(dead.lock.path)
            dead.lock.close()
        }
        removeInterruptedDeletions(layout, logger: logger)
    }

    private struct DeadPartial {
        let path: String
        let directory: String
        /// Locked by this process until the directory is removed, so no other cleaner starts on it.
        let lock: LockFile
    }

    /// Partial directories and owner locks of dead writers, each now locked by this process.
    private static func deadPartials(_ layout: RepositoryLayout) -> [DeadPartial] {
        let names = FileSystem.list(layout.backupsDirectory).filter { $0.hasPrefix(RepositoryLayout.partialPrefix) }
        guard !names.isEmpty, let control = try? ControlFileLock(path: layout.controlLockFile) else { return [] }
        defer { control.release() }
        var ids: Set<String> = []
        for name in names {
            ids.insert(name.hasSuffix(RepositoryLayout.ownerLockSuffix) ? String(name.dropLast(RepositoryLayout.ownerLockSuffix.count)) : name)
        }
        var dead: [DeadPartial] = []
        for base in ids.sorted() {
            let directory = layout.backupsDirectory + "/" + base
            // Under the control-file lock nobody is creating this lock file: a missing one
            // means a writer that is gone (or an older release's), and is claimed here.
            guard let lock = try? LockFile.create(directory + RepositoryLayout.ownerLockSuffix), lock.tryLock(.exclusive) else { continue }
            dead.append(DeadPartial(path: directory, directory: directory, lock: lock))
        }
        return dead
    }

    /// `.deleting-*` directories, removed under the deletion lock when it is free now.
    private static func removeInterruptedDeletions(_ layout: RepositoryLayout, logger: Logger) {
        let names = FileSystem.list(layout.backupsDirectory).filter { $0.hasPrefix(RepositoryLayout.deletingPrefix) }
        guard !names.isEmpty, let lock = try? LockFile.create(layout.deletionLockFile), lock.tryLock(.exclusive) else { return }
        defer { lock.close() }
        for name in names {
            logger.info("removing \(name), left by an interrupted deletion")
            FileSystem.removeTree(layout.backupsDirectory + "/" + name)
        }
    }
}
