import Foundation

/// Writes a new file front to back, straight to the disk where it can: bytes are gathered in
/// an aligned staging buffer and written in whole aligned chunks with O_DIRECT (no page-cache
/// copy, and the disk works while the next chunk fills); the unaligned tail goes through the
/// page cache. `finish()` makes the whole file durable. Falls back to ordinary writes where
/// the file system refuses direct I/O. Not Sendable: one thread at a time appends.
package final class SequentialWriter {
    static let chunk = 4 << 20
    static let alignment = 4096

    package let path: String
    private let buffered: RawFile
    private var direct: RawFile?
    private let staging: UnsafeMutableRawPointer
    private var staged = 0
    /// Bytes handed to the file so far (written or staged).
    package private(set) var size: UInt64 = 0
    private var flushed: UInt64 = 0

    package init(path: String) throws(EngineError) {
        self.path = path
        buffered = try RawFile(path: path, mode: .createNew)
        direct = try? RawFile(path: path, mode: .readWriteDirect)
        staging = .allocate(byteCount: Self.chunk, alignment: Self.alignment)
    }

    deinit { staging.deallocate() }

    package func append(_ p: UnsafeRawPointer, _ count: Int) throws(EngineError) {
        var done = 0
        while done < count {
            let n = min(count - done, Self.chunk - staged)
            staging.advanced(by: staged).copyMemory(from: p + done, byteCount: n)
            staged += n
            done += n
            size += UInt64(n)
            if staged == Self.chunk { try flushStaging() }
        }
    }

    /// Appends bytes borrowed from memory another owner keeps (a pipeline slot's).
    package func append(_ bytes: RawSpan) throws(EngineError) {
        try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(EngineError) in
            try append(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count)
        }
    }

    private func flushStaging() throws(EngineError) {
        guard staged > 0 else { return }
        let aligned = staged & ~(Self.alignment - 1)
        if let d = direct, aligned > 0 {
            do throws(EngineError) {
                try d.write(staging, count: aligned, at: flushed)
            } catch {
                // Direct I/O refused (EINVAL on some file systems): use the page cache from here on.
                if case .io(_, _, let e) = error, e == EINVAL { direct = nil; try buffered.write(staging, count: aligned, at: flushed) } else { throw error }
            }
        } else if aligned > 0 {
            try buffered.write(staging, count: aligned, at: flushed)
            buffered.startWriteback(offset: flushed, count: aligned)
        }
        flushed += UInt64(aligned)
        let rest = staged - aligned
        if rest > 0 { staging.copyMemory(from: staging + aligned, byteCount: rest) }
        staged = rest
    }

    /// Writes what is staged and makes the file durable.
    package func finish() throws(EngineError) {
        try flushStaging()
        if staged > 0 {
            try buffered.write(staging, count: staged, at: flushed)
            flushed += UInt64(staged)
            staged = 0
        }
        try buffered.sync()
    }
}
