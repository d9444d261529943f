import Foundation
import CairnFormats
import CairnCatalog

/// Validation of a backup, and the swap of a verified file in for the live database.
/// (Restores themselves are built by `RecoveryEngine`.)
package struct RestoreEngine {
    package let reader: BackupReader

    package init(reader: BackupReader) { self.reader = reader }

    /// Reads and verifies everything a restore needs, writing nothing.
    package func validate() throws(EngineError) {
        _ = try reader.read(label: "validate", into: NoSink())
    }

    /// Validation keeps nothing of what it reads.
    private struct NoSink: BackupBlockSink {
        func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) {}
    }

    /// Moves a verified file built beside `dest` to `dest`: never over an existing file unless
    /// `force` (which also removes a stale -wal, -shm or -journal of the old file). The
    /// temporary file is removed if the move fails.
    static func place(_ temp: String, at dest: String, force: Bool) throws(EngineError) {
        do throws(EngineError) {
            if force {
                for suffix in ["-wal", "-shm", "-journal"] { FileSystem.removeFile(dest + suffix) }
                try FileSystem.rename(temp, dest)
            } else {
                try FileSystem.renameNoReplace(temp, dest)
            }
            try FileSystem.fsyncDirectory(FileSystem.parent(of: dest))
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    /// Swaps a verified file in for the live database. Its WAL is checkpointed into it first
    /// (or, if SQLite cannot read it, both are kept aside), so the path always holds either
    /// the complete old database or the complete new one.
    static func swapIn(_ temp: String, for target: String) throws(EngineError) {
        do throws(EngineError) {
            if FileSystem.exists(target) {
                try LiveDatabase.ensureNotOpenElsewhere(target)
                do throws(EngineError) {
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
}
