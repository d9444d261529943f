import CSystemShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file opened for positional I/O. All reads and writes go through pread/pwrite on
/// caller-owned buffers; short transfers and EINTR are retried; errors carry the path.
/// Sendable: it holds only the path and the descriptor, and positional I/O keeps no file
/// offset, so threads may read and write through one `RawFile` at once.
package final class RawFile: Sendable {
    package let path: String
    package let fd: Int32

    package enum Mode { case read, readWrite, createNew, createOrTruncate, readWriteDirect }

    /// Files created (`createNew`, `createOrTruncate`) are no more permissive than
    /// `permissions`, by default what `FilePermissions` says for `path`.
    package init(path: String, mode: Mode, permissions: FileMode? = nil) throws(EngineError) {
        self.path = path
        let flags: Int32
        switch mode {
        case .read: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        case .createOrTruncate: flags = O_RDWR | O_CREAT | O_TRUNC
        case .readWriteDirect: flags = O_RDWR | cairn_o_direct()
        }
        if let e = FaultInjector.errno(.open, path) { throw EngineError.fromErrno("open", path, e) }
        let fd = flags & O_CREAT != 0
            ? FilePermissions.openCreating(path, flags | O_CLOEXEC, mode: permissions)
            : open(path, flags | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw .missingFile(path: path, detail: "open: no such file") }
            throw EngineError.fromErrno("open", path, e)
        }
        self.fd = fd
    }

    /// A scratch file with no name in `directory` (owner-only, gone when closed).
    package init(unnamedIn directory: String) throws(EngineError) {
        let fd = cairn_open_unnamed(directory)
        if fd < 0 { throw EngineError.fromErrno("create a temporary file in", directory, errno) }
        path = directory + "/(unnamed temporary file)"
        self.fd = fd
    }

    deinit { close(fd) }

    package func size() throws(EngineError) -> UInt64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw EngineError.fromErrno("fstat", path, errno) }
        return UInt64(st.st_size)
    }

    /// Reads up to `count` bytes at `offset`; returns the number read (less only at end of file).
    package func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) -> Int {
        if let e = FaultInjector.errno(.read, path) { throw EngineError.fromErrno("read", path, e) }
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError.fromErrno("read", path, errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads database page `pgno` (1-based); what lies past the end of the file reads as zeros.
    package func readPage(_ pgno: UInt32, pageSize: Int, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        let n = try read(into: buffer, count: pageSize, at: UInt64(pgno - 1) * UInt64(pageSize))
        if n < pageSize { (buffer + n).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - n) }
    }

    /// Reads exactly `count` bytes at `offset` or throws `truncated`.
    package func readExactly(into buffer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(EngineError) {
        let n = try read(into: buffer, count: count, at: offset)
        if n != count { throw .truncated(file: path, expected: offset + UInt64(count), actual: offset + UInt64(n)) }
    }

    package func write(_ buffer: UnsafeRawPointer, count: Int, at offset: UInt64) throws(EngineError) {
        var done = 0
        var limit = count
        switch FaultInjector.shared.check(.write, path) {
        case .fail(let e)?: throw EngineError.fromErrno("write", path, e)
        case .shortWrite?: limit = max(1, count / 2) // the loop below must finish the rest
        case .delay(let ms)?: usleep(UInt32(ms) * 1000)
        case nil: break
        }
        while done < count {
            let n = pwrite(fd, buffer + done, min(count, limit) - done, off_t(offset) + off_t(done))
            if done + max(n, 0) >= limit { limit = count }
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError.fromErrno("write", path, errno)
            }
            if n == 0 { throw EngineError.fromErrno("write", path, EIO) }
            done += n
        }
    }

    /// Writes bytes borrowed from memory another owner keeps (a pipeline slot's).
    package func write(_ bytes: RawSpan, at offset: UInt64) throws(EngineError) {
        try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(EngineError) in
            try write(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: b.count, at: offset)
        }
    }

    package func write(_ bytes: [UInt8], at offset: UInt64) throws(EngineError) {
        try bytes.withBytes { (p, count) throws(EngineError) in
            try write(p, count: count, at: offset)
        }
    }

    package func truncate(to size: UInt64) throws(EngineError) {
        if ftruncate(fd, off_t(size)) != 0 { throw EngineError.fromErrno("truncate", path, errno) }
    }

    /// Reserves space so a full disk is found before data is written, where the file system supports it.
    package func preallocate(_ size: UInt64) throws(EngineError) {
        guard size > 0 else { return }
        let r = posix_fallocate(fd, 0, off_t(size))
        if r == ENOSPC || r == EDQUOT { throw EngineError.fromErrno("allocate", path, r) }
    }

    package func sync() throws(EngineError) {
        if let e = FaultInjector.errno(.sync, path) { throw EngineError.fromErrno("fsync", path, e) }
        if fsync(fd) != 0 { throw EngineError.fromErrno("fsync", path, errno) }
    }

    /// Starts writing a range back to disk without waiting, so the final fsync is short and
    /// disk writes overlap the rest of the work.
    package func startWriteback(offset: UInt64, count: Int) {
        _ = cairn_start_writeback(fd, Int64(offset), Int64(count))
    }

    /// Tells the kernel the file will be read sequentially.
    package func adviseSequential() {
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    /// Asks the kernel to start reading a range now (asynchronously), so scattered reads
    /// that follow find it in the page cache.
    package func adviseWillNeed(offset: UInt64, count: Int) {
        _ = posix_fadvise(fd, off_t(offset), off_t(count), Int32(POSIX_FADV_WILLNEED))
    }
}
