import Foundation
import Synchronization
import CairnFormats

/// Re-reads a file while it is being written, behind its writer, and hashes what it reads
/// (XXH3): the check a backup makes of its pieces once they are written ("re-read checksum"),
/// done alongside the writing instead of after it, so a single large piece (a snapshot's) is
/// not read back in a serial pass at the end. Reads stop at the file's current size (bytes
/// below it are written); `finish` reads the rest once the writer is done.
final class TrailingReadBack: @unchecked Sendable {
    private let file: RawFile
    private let start: UInt64
    private let hash = StreamingHash()
    private let buffer: UnsafeMutableRawPointer
    private static let chunk = 1 << 20
    /// Next offset to read; touched by the reading thread until `finish` has joined it.
    private var at: UInt64
    private let done = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var failure: EngineError?

    /// Starts reading `path` from `start` on a thread of its own.
    init(path: String, from start: UInt64) throws(EngineError) {
        file = try RawFile(path: path, mode: .read)
        self.start = start
        at = start
        buffer = .allocate(byteCount: Self.chunk, alignment: 4096)
        let thread = Thread { [self] in
            follow()
            finished.signal()
        }
        thread.name = "cairn.read-back"
        thread.start()
    }

    deinit { buffer.deallocate() }

    private func follow() {
        do throws(EngineError) {
            while true {
                let size = try file.size()
                if size > at {
                    try step(upTo: size)
                } else if done.load(ordering: .acquiring) {
                    return
                } else {
                    usleep(2_000)
                }
            }
        } catch {
            failure = error
        }
    }

    private func step(upTo limit: UInt64) throws(EngineError) {
        let n = try file.read(into: buffer, count: Int(min(UInt64(Self.chunk), limit - at)), at: at)
        guard n > 0 else { throw .truncated(file: file.path, expected: limit, actual: at) }
        hash.update(buffer, n)
        at += UInt64(n)
    }

    /// Ends the reading thread (once; what it read stays hashed). Call it on every path, the
    /// writer's failures included: the thread otherwise waits for more bytes for ever.
    func stop() {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    /// Once the writer has written `length` bytes from the start (and flushed them): reads what
    /// is left and returns the hash of exactly those bytes.
    func finish(length: UInt64) throws(EngineError) -> UInt64 {
        stop()
        if let failure { throw failure }
        let end = start + length
        guard at <= end else {
            throw .corrupt(file: file.path, offset: end, detail: "the file runs past the \(length) bytes written")
        }
        while at < end { try step(upTo: end) }
        return hash.value
    }
}
