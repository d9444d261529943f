import Foundation

/// Restores a verified backup into a new file, or swaps it in for the live database.
/// Pages go to a temporary file beside the target; the file is handed out (renamed into
/// place) only after every check of `BackupReader` passed and the data is fsync'd.
public struct RestoreEngine {
    public let reader: BackupReader

    public init(reader: BackupReader) { self.reader = reader }

    /// Reads and verifies everything a restore needs, writing nothing.
    public func validate() throws(CairnError) {
        try reader.read(label: "validate") { _, _, _ in }
    }

    /// Restores into `path`. Refuses an existing file unless `force`.
    public func restore(to path: String, force: Bool) throws(CairnError) {
        let target = FileSystem.absolute(path)
        if !force && FileSystem.exists(target) { throw .targetExists(path: target) }
        let temp = try writeVerifiedTemp(beside: target)
        do throws(CairnError) {
            if force {
                // A stale WAL or index beside the target would be applied to the restored file.
                for suffix in ["-wal", "-shm", "-journal"] { FileSystem.removeFile(target + suffix) }
                try FileSystem.rename(temp, target)
            } else {
                try FileSystem.renameNoReplace(temp, target)
            }
            try FileSystem.fsyncDirectory(FileSystem.parent(of: target))
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    /// Replaces the live database atomically with the verified restore. The database must not
    /// be open in any other process. Its WAL is checkpointed into it first, so at every instant
    /// the path holds either the complete old database or the complete new one.
    public func restoreInPlace(database: String) throws(CairnError) {
        let target = FileSystem.absolute(database)
        let temp = try writeVerifiedTemp(beside: target)
        do throws(CairnError) {
            if FileSystem.exists(target) {
                try LiveDatabase.ensureNotOpenElsewhere(target)
                do throws(CairnError) {
                    try LiveDatabase.checkpointCompletely(target)
                } catch let e where e.isDamagedDatabase {
                    // The live file cannot be read by SQLite: keep it and its WAL aside, untouched.
                    try LiveDatabase.setAside(target)
                }
                FileSystem.removeFile(target + "-wal")
                FileSystem.removeFile(target + "-shm")
            }
            try FileSystem.rename(temp, target)
            try FileSystem.fsyncDirectory(FileSystem.parent(of: target))
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    private func writeVerifiedTemp(beside target: String) throws(CairnError) -> String {
        let dir = FileSystem.parent(of: target)
        guard FileSystem.isDirectory(dir) else {
            throw .missingFile(path: dir, detail: "the directory to restore into does not exist")
        }
        let name = (target as NSString).lastPathComponent
        let temp = dir + "/." + name + ".cairn-restore-\(getpid())"
        FileSystem.removeFile(temp)
        let m = reader.manifest
        let size = UInt64(m.pageCount) * UInt64(m.pageSize)
        do throws(CairnError) {
            let file = try RawFile(path: temp, mode: .createNew)
            try file.preallocate(size)
            let pageSize = UInt64(m.pageSize)
            try reader.read(label: "restore") { first, count, pages in
                try file.write(pages, count: count * Int(pageSize), at: UInt64(first - 1) * pageSize)
            }
            try file.truncate(to: size)
            try file.sync()
            return temp
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }
}
