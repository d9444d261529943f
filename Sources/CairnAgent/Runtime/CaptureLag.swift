import Foundation
import CairnEngines

/// How far capture is behind the WAL: the frames committed after the position capture last
/// reached (read from the WAL index header in `-shm`), and for how long.
///
/// The index is capture's own (`GuardedCapture.walIndex`: the `-shm` it pins, while it runs),
/// read through a `WALIndex`, whose descriptor is shared and never closed: opening
/// and closing `-shm` here would drop the POSIX locks this process holds on it (the read marks
/// of the agent's pins and of its SQLite connections), unpinning the WAL under capture.
enum CaptureLag {
    static func measure(_ p: GuardedCapture.Progress, index: WALIndex?, now: Date) -> (bytes: UInt64, seconds: Double)? {
        guard p.running, let position = p.position, p.pageSize > 0, let header = index?.read() else { return nil }
        let frameBytes = UInt64(p.pageSize + 24)
        let sameGeneration = header.sameGeneration(salt1: position.salt1, salt2: position.salt2)
        let behind = sameGeneration ? UInt64(header.mxFrame > position.frame ? header.mxFrame - position.frame : 0) : UInt64(header.mxFrame)
        guard behind > 0 else { return (0, 0) }
        let since = p.roundAt ?? now
        return (behind * frameBytes, max(0, now.timeIntervalSince(since)))
    }
}
