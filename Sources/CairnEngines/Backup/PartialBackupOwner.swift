import Foundation
import CairnFormats
import CairnCatalog

/// The claim of one process on one backup id: `backups/.partial-<id>.lock`, created and
/// locked (exclusive `flock`) while the control-file lock is held — the same moment the id
/// is taken from the control file — and locked for as long as the process writes the
/// backup's `.partial-<id>` directory. Its lock file goes only after the directory is gone
/// (removed after a failure, or renamed to the finished backup), so a partial directory
/// whose lock file is missing or can be locked by someone else has a dead writer.
final class PartialBackupOwner {
    let id: UInt64
    let layout: RepositoryLayout
    private var lock: LockFile?

    var partialDirectory: String { layout.partialDirectory(id) }

    private init(id: UInt64, layout: RepositoryLayout, lock: LockFile) {
        self.id = id
        self.layout = layout
        self.lock = lock
    }

    deinit { release() }

    /// Claims backup `id`. The caller holds the control-file lock (`BackupLeftovers` looks
    /// at owner locks only while holding it, so it never sees one created but not locked yet).
    static func claim(_ id: UInt64, layout: RepositoryLayout) throws(EngineError) -> PartialBackupOwner {
        try FileSystem.makeDirectories(layout.backupsDirectory)
        let lock = try LockFile.create(layout.partialOwnerLock(id))
        guard lock.tryLock(.exclusive) else {
            throw .unrecoverable("Backup id \(id) is already claimed by \(LockHolders.describe(lock.path)) (lock \(lock.path)), although the control file had not given it out. Run the command again.")
        }
        return PartialBackupOwner(id: id, layout: layout, lock: lock)
    }

    /// Whether an id can be given out: nothing of a backup with that id is on disk.
    static func isFree(_ id: UInt64, layout: RepositoryLayout) -> Bool {
        !FileSystem.exists(layout.backupDirectory(id)) && !FileSystem.exists(layout.partialDirectory(id))
            && !FileSystem.exists(layout.partialOwnerLock(id))
    }

    /// Creates the (empty) partial directory the backup is written into.
    func makeDirectory() throws(EngineError) {
        try FileSystem.makeNewDirectory(partialDirectory, purpose: "backup directory")
    }

    /// Ends the claim once the partial directory is gone (renamed or removed): the lock file
    /// is removed, then unlocked.
    func release() {
        guard let lock else { return }
        FileSystem.removeFile(lock.path)
        lock.close()
        self.lock = nil
    }
}
