import Glibc
import NIOCore

/// A local file read or written at explicit offsets (pread/pwrite), so several transfers can
/// share one descriptor. Errors name the path and the errno, as S3Error.localFile.
struct LocalFile: Sendable {
    let path: String
    let descriptor: Int32

    static func openForReading(_ path: String) throws(S3Error) -> LocalFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .localFile(path: path, operation: "open for reading", errno: errno) }
        return LocalFile(path: path, descriptor: fd)
    }

    /// A new file (replacing any at `path`), open for writing and reading back, readable by its
    /// owner only.
    static func create(_ path: String) throws(S3Error) -> LocalFile {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .localFile(path: path, operation: "create", errno: errno) }
        return LocalFile(path: path, descriptor: fd)
    }

    func close() { _ = Glibc.close(descriptor) }

    func size() throws(S3Error) -> UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .localFile(path: path, operation: "stat", errno: errno) }
        return UInt64(info.st_size)
    }

    /// Exactly `count` bytes at `offset` (fewer means the file shrank: an error).
    func read(offset: UInt64, count: Int) throws(S3Error) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var done = 0
        while done < count {
            var got = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { space in
                got = pread(descriptor, space.baseAddress, count - done, off_t(offset) + off_t(done))
                return max(got, 0)
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw .localFile(path: path, operation: got == 0 ? "read (the file is shorter than expected)" : "read", errno: got == 0 ? EIO : errno) }
            done += got
        }
        return buffer
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: ByteBuffer, at offset: UInt64) throws(S3Error) {
        var done = 0
        let count = bytes.readableBytes
        while done < count {
            let wrote = bytes.withUnsafeReadableBytes { data in
                pwrite(descriptor, data.baseAddress.map { $0 + done }, count - done, off_t(offset) + off_t(done))
            }
            if wrote < 0 && errno == EINTR { continue }
            guard wrote > 0 else { throw .localFile(path: path, operation: "write", errno: wrote == 0 ? EIO : errno) }
            done += wrote
        }
    }

    func truncate(to size: UInt64) throws(S3Error) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw .localFile(path: path, operation: "set the size of", errno: errno) }
    }

    func sync() throws(S3Error) {
        guard fsync(descriptor) == 0 else { throw .localFile(path: path, operation: "fsync", errno: errno) }
    }
}

enum LocalFiles {
    /// Renames `from` to `to` and makes the rename durable (fsync of the directory).
    static func commit(_ from: String, to: String) throws(S3Error) {
        guard rename(from, to) == 0 else { throw .localFile(path: to, operation: "rename \(from) to", errno: errno) }
        let directory = to.lastIndex(of: "/").map { String(to[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw .localFile(path: directory, operation: "fsync the directory", errno: errno) }
    }

    static func remove(_ path: String) { _ = unlink(path) }
}
