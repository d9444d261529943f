import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// The state of the WAL as its index (`-shm`) tells it: which generation (salts), how many
/// frames are committed (mxFrame), and how many of them a checkpoint has copied into the
/// database file (nBackfill, and nBackfillAttempted, which a checkpoint sets before it
/// starts writing pages).
package struct WALIndexState: Sendable, Equatable {
    package let salt1: UInt32
    package let salt2: UInt32
    package let mxFrame: UInt32
    package let nBackfill: UInt32
    package let nBackfillAttempted: UInt32
    /// The database's size in pages after the last commit (a checkpoint that copies every
    /// frame truncates the database file to it).
    package var databasePages: UInt32 = 0

    /// Every committed frame is in the database file (or the WAL is empty): a read
    /// transaction that begins now reads the database file alone.
    package var fullyBackfilled: Bool { nBackfill == mxFrame }

    package func sameGeneration(salt1 s1: UInt32, salt2 s2: UInt32) -> Bool { salt1 == s1 && salt2 == s2 }
}

/// Reads the WAL index of a database and probes its locks, without SQLite and without ever
/// closing a descriptor of the `-shm` file (see `SharedFiles`: closing one would drop every
/// lock this process's SQLite connections hold on it, pins included).
///
/// Layout (SQLite's wal.c, stable since 3.7.0 because processes of different releases share
/// it): two copies of a 48-byte header at 0 and 48 (mxFrame at +16, database pages at +20, salts at +32, native
/// byte order), the checkpoint information at 96 (nBackfill, five read marks), the lock
/// bytes at 120..127 (write, checkpoint, recover, read slots 0..4) and nBackfillAttempted at 128.
///
/// Sendable: it keeps only the path and a shared read handle; each read uses a buffer on the
/// reading thread's stack.
package final class WALIndex: Sendable {
    package let path: String
    private let file: RawFile

    /// The lock bytes of `-shm` (offsets from the start of the file).
    package enum LockByte: Int64 {
        case write = 120, checkpoint = 121, recover = 122, readSlot0 = 123, readSlot1 = 124
    }

    /// Opens the index of `databasePath`; throws `missingFile` when it does not exist.
    package init(databasePath: String) throws(EngineError) {
        path = databasePath + "-shm"
        file = try SharedFiles.reader(path)
    }

    /// The device and inode of the index this reader reads.
    package var identity: FileIdentity? { FileIdentity(descriptor: file.fd) }

    /// The current state; nil while the index is not initialised (no connection has opened
    /// the WAL since the last one closed). The two header copies are compared as SQLite's
    /// own readers do, so a header being rewritten is never taken half-written.
    package func read() -> WALIndexState? {
        withHeader { buffer -> WALIndexState? in
            for _ in 0..<100 {
                guard (try? file.read(into: buffer, count: Self.headerBytes, at: 0)) == Self.headerBytes else { return nil }
                guard buffer.load(fromByteOffset: 12, as: UInt8.self) != 0 else { return nil }
                if memcmp(buffer, buffer + 48, 48) != 0 { continue }
                return WALIndexState(
                    // The salts are copied byte for byte from the WAL header, which is big-endian.
                    salt1: UInt32(bigEndian: buffer.load(fromByteOffset: 32, as: UInt32.self)),
                    salt2: UInt32(bigEndian: buffer.load(fromByteOffset: 36, as: UInt32.self)),
                    mxFrame: buffer.load(fromByteOffset: 16, as: UInt32.self),
                    nBackfill: buffer.load(fromByteOffset: 96, as: UInt32.self),
                    nBackfillAttempted: buffer.load(fromByteOffset: 128, as: UInt32.self),
                    databasePages: buffer.load(fromByteOffset: 20, as: UInt32.self))
            }
            return nil
        }
    }

    /// Runs `body` with a buffer for the first `headerBytes` bytes of the index.
    private func withHeader<T>(_ body: (UnsafeMutableRawPointer) -> T) -> T {
        withUnsafeTemporaryAllocation(byteCount: Self.headerBytes, alignment: 8) { body($0.baseAddress!) }
    }

    /// The headers, the checkpoint information, the lock bytes and nBackfillAttempted.
    private static let headerBytes = 136

    /// The read marks of reader slots 1...4 (0xffffffff: unused), and whether each is locked.
    func readerSlots() -> [(mark: UInt32, locked: Bool)] {
        withHeader { buffer in
            guard (try? file.read(into: buffer, count: Self.headerBytes, at: 0)) == Self.headerBytes else { return [] }
            return (1...4).map { i in
                (buffer.load(fromByteOffset: 100 + 4 * i, as: UInt32.self), cairn_range_locked(file.fd, 123 + Int64(i), 1) == 1)
            }
        }
    }

    /// Whether another process runs a checkpoint that blocks writers (FULL, RESTART or
    /// TRUNCATE: it holds the checkpoint lock and the write lock; an automatic or PASSIVE
    /// checkpoint holds only the first).
    func blockingCheckpointRunning() -> Bool {
        var t: Int32 = 0
        let checkpointer = cairn_range_lock_holder(file.fd, LockByte.checkpoint.rawValue, 1, &t)
        guard checkpointer > 0, checkpointer != getpid() else { return false }
        return cairn_range_lock_holder(file.fd, LockByte.write.rawValue, 1, &t) == checkpointer
    }

    /// Who holds each lock byte 120...128 (debugging).
    func lockHolders() -> String {
        (120...128).map { b -> String in
            var t: Int32 = 0
            let pid = cairn_range_lock_holder(file.fd, Int64(b), 1, &t)
            return pid == 0 ? "\(b):-" : "\(b):\(pid)\(t == 1 ? "r" : "w")"
        }.joined(separator: " ")
    }

    /// Whether a lock byte is held by anyone: another process, or a connection of this one.
    package func isLocked(_ byte: LockByte) -> Bool {
        cairn_range_locked(file.fd, byte.rawValue, 1) == 1
    }
}

/// A file's device and inode: the same file whichever name reaches it, and a different one
/// when a name was removed and created again.
package struct FileIdentity: Sendable, Equatable, CustomStringConvertible {
    package let device: UInt64
    package let inode: UInt64

    package init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    package init?(descriptor fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    package var description: String { "\(device):\(inode)" }
}
