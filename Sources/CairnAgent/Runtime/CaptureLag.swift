import Foundation
import CairnEngines

/// How far capture is behind the WAL: the frames committed after the position capture last
/// reached (read from the WAL index header in `-shm`), and for how long.
enum CaptureLag {
    static func measure(_ p: GuardedCapture.Progress, databasePath: String, now: Date) -> (bytes: UInt64, seconds: Double)? {
        guard p.running, let position = p.position, p.pageSize > 0, let header = walIndexHeader(databasePath) else { return nil }
        let frameBytes = UInt64(p.pageSize + 24)
        let sameGeneration = header.salt1 == position.salt1 && header.salt2 == position.salt2
        let behind = sameGeneration ? UInt64(header.maxFrame > position.frame ? header.maxFrame - position.frame : 0) : UInt64(header.maxFrame)
        guard behind > 0 else { return (0, 0) }
        let since = p.roundAt ?? now
        return (behind * frameBytes, max(0, now.timeIntervalSince(since)))
    }

    /// mxFrame and the salts of the WAL index header (the first copy; a torn read only makes
    /// one sample wrong).
    private static func walIndexHeader(_ databasePath: String) -> (maxFrame: UInt32, salt1: UInt32, salt2: UInt32)? {
        let fd = open(databasePath + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 48)
        guard pread(fd, &bytes, 48, 0) == 48 else { return nil }
        func u32(_ at: Int) -> UInt32 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) } }
        // The index is in native byte order; the salts are the WAL header's big-endian words.
        return (u32(16), UInt32(bigEndian: u32(32)), UInt32(bigEndian: u32(36)))
    }
}
