import CSystemShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One 8-byte entry per page (page hashes, last-change SCNs, bitmap words) in memory that
/// does not stay resident, so what scales with the page count does not grow the process:
/// past `fileBytes` the entries live in a memory-mapped scratch file with no name
/// (`scratchDirectory`), and the mapped pages are handed back to the kernel
/// (`madvise(MADV_DONTNEED)`: the data stays in the file and the page cache) once writes
/// have moved to `trimEvery` other pages of the mapping, and whenever a reader calls `trim()`. Small columns, and columns whose
/// scratch file cannot be made (or space reserved for), are anonymous memory.
///
/// Not Sendable: a column belongs to one thread at a time (`trim()` included), which moves it
/// on, inside the value that owns it, when the work moves.
package final class PageColumn {
    /// Columns of at least this many bytes are file-backed (`CAIRN_PAGE_COLUMN_FILE_BYTES`
    /// changes it: tests set 0 to put every column in a file).
    package static let fileBytes = ProcessInfo.processInfo.environment["CAIRN_PAGE_COLUMN_FILE_BYTES"].flatMap { Int($0) } ?? 256 << 10
    /// Moves of writes to another 4 KiB page between trims. A read fault maps the pages
    /// around it too (the kernel's fault-around, 64 KiB), so random writes (which read the old
    /// entry first) keep at most 32 × 64 KiB = 2 MiB of a column resident; sequential ones
    /// trim every 128 KiB.
    package static let trimEvery = 32

    /// Where scratch files go: `CAIRN_SCRATCH_DIR`, else `TMPDIR`, else /tmp.
    package static let scratchDirectory: String = {
        let env = ProcessInfo.processInfo.environment
        return env["CAIRN_SCRATCH_DIR"] ?? env["TMPDIR"] ?? "/tmp"
    }()

    package private(set) var base: UnsafeMutablePointer<UInt64>?
    /// Entries the mapping holds.
    package private(set) var capacity = 0
    private var fd: Int32 = -1
    private var writes = 0
    private var lastPage = -1

    package init(capacity: Int = 0) {
        if capacity > 0 { reserve(capacity, keeping: 0) }
    }

    deinit {
        if let base { munmap(base, capacity * 8) }
        if fd >= 0 { close(fd) }
    }

    package var isFileBacked: Bool { fd >= 0 }

    @inline(__always) package subscript(i: Int) -> UInt64 {
        get { base![i] }
        set { base![i] = newValue }
    }

    /// Notes a write of entry `i`; trims once writes have moved to `trimEvery` other pages.
    @inline(__always) package func noteWrite(at i: Int) {
        let page = i >> 9
        guard page != lastPage else { return }
        lastPage = page
        writes += 1
        if writes >= Self.trimEvery { trim() }
    }

    /// Hands the resident pages of a file-backed mapping back to the kernel.
    package func trim() {
        writes = 0
        guard fd >= 0, let base else { return }
        _ = madvise(UnsafeMutableRawPointer(base), capacity * 8, Int32(MADV_DONTNEED))
    }

    /// Makes room for `n` entries (at least doubling), keeping the first `count`.
    package func reserve(_ n: Int, keeping count: Int) {
        guard n > capacity else { return }
        let newCapacity = max(n, capacity * 2, 512)
        let bytes = newCapacity * 8
        if fd >= 0 {
            // The file keeps the entries: reserve its blocks (a write into a hole of a full
            // file system would be a SIGBUS), then map it whole again.
            if posix_fallocate(fd, 0, off_t(bytes)) == 0 {
                if let base { munmap(base, capacity * 8) }
                base = Self.map(bytes: bytes, fd: fd)
                capacity = newCapacity
                return
            }
            move(to: Self.map(bytes: bytes, fd: -1), capacity: newCapacity, fd: -1, count: count)
            return
        }
        if bytes >= Self.fileBytes, let f = Self.scratchFile(bytes: bytes) {
            move(to: Self.map(bytes: bytes, fd: f), capacity: newCapacity, fd: f, count: count)
        } else {
            move(to: Self.map(bytes: bytes, fd: -1), capacity: newCapacity, fd: -1, count: count)
        }
    }

    /// A copy of the first `count` entries, sharing nothing with this column (so it may go
    /// to another thread): the entries are read as bytes (a span), a chunk at a time.
    package func copy(count: Int) -> sending PageColumn {
        let c = PageColumn(capacity: max(count, 1))
        var i = 0
        while i < count {
            let n = min(count - i, Self.chunk)
            Self.copy(UnsafeRawBufferPointer(start: base! + i, count: n * 8).bytes, to: c.base! + i)
            i += n
            trim()
            c.trim()
        }
        return c
    }

    /// Sets entries `range` to `value`.
    package func fill(_ range: Range<Int>, with value: UInt64) {
        var i = range.lowerBound
        while i < range.upperBound {
            let end = min(range.upperBound, i + Self.chunk)
            base!.advanced(by: i).update(repeating: value, count: end - i)
            i = end
            trim()
        }
    }

    /// Whether the first `count` entries equal `other`'s.
    package func equals(_ other: PageColumn, count: Int) -> Bool {
        var i = 0
        while i < count {
            let n = min(count - i, Self.chunk)
            let same = memcmp(base! + i, other.base! + i, n * 8) == 0
            trim(); other.trim()
            if !same { return false }
            i += n
        }
        return true
    }

    /// Entries per chunk when a whole column is walked (1 MiB).
    package static let chunk = 1 << 17

    private func move(to p: UnsafeMutablePointer<UInt64>, capacity newCapacity: Int, fd newFd: Int32, count: Int) {
        if let base {
            let old = self.fd
            var i = 0
            while i < count {
                let n = min(count - i, Self.chunk)
                Self.copy(UnsafeRawBufferPointer(start: base + i, count: n * 8).bytes, to: p + i)
                i += n
            }
            if old >= 0 { _ = madvise(UnsafeMutableRawPointer(base), capacity * 8, Int32(MADV_DONTNEED)) }
            munmap(base, capacity * 8)
            if old >= 0 && old != newFd { close(old) }
        }
        base = p
        capacity = newCapacity
        fd = newFd
        trim()
    }

    private static func copy(_ src: RawSpan, to dst: UnsafeMutablePointer<UInt64>) {
        src.withUnsafeBytes { UnsafeMutableRawPointer(dst).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    private static func map(bytes: Int, fd: Int32) -> UnsafeMutablePointer<UInt64> {
        let flags = fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, fd, 0), p != MAP_FAILED else {
            fatalError("page map: cannot map \(bytes) bytes (errno \(errno))")
        }
        return p.assumingMemoryBound(to: UInt64.self)
    }

    private static func scratchFile(bytes: Int) -> Int32? {
        let fd = cairn_open_unnamed(scratchDirectory)
        guard fd >= 0 else { return nil }
        guard posix_fallocate(fd, 0, off_t(bytes)) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
