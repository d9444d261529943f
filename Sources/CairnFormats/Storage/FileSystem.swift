import CSystemShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Durable file-system operations: atomic replace, directory fsync, creation and removal.
package enum FileSystem {
    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    package static func fileSize(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_size)
    }

    /// When `path` was last modified, nil when it cannot be looked at.
    package static func modificationDate(_ path: String) -> Date? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    package static func parent(of path: String) -> String {
        let p = (path as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }

    /// `path` made absolute and tidied (`.` and `..` removed as text; links are not followed).
    package static func absolute(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.standardizedFileURL.path
    }

    /// The one name of what `path` names: absolute, with every symbolic link and `..` followed
    /// as the kernel does. The part of the path that does not exist yet is appended as given
    /// to its longest existing parent, resolved.
    package static func resolved(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let r = realpath(full, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        let name = (full as NSString).lastPathComponent
        let rest = (full as NSString).deletingLastPathComponent
        if name == "." || name == ".." || name.isEmpty || rest == full || rest.isEmpty { return absolute(full) }
        let base = resolved(rest)
        return (base == "/" ? "" : base) + "/" + name
    }

    package static func fsyncDirectory(_ dir: String) throws(EngineError) {
        if let e = FaultInjector.errno(.sync, dir) { throw EngineError.fromErrno("fsync directory", dir, e) }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw EngineError.fromErrno("open directory", dir, errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw EngineError.fromErrno("fsync directory", dir, errno) }
    }

    /// Creates a directory and its parents; each new directory is made durable in its parent.
    /// New directories get the permissions `FilePermissions` gives `path`.
    package static func makeDirectories(_ path: String) throws(EngineError) {
        if isDirectory(path) { return }
        try makeDirectories(path, bits: FilePermissions.directoryBits(for: path))
    }

    private static func makeDirectories(_ path: String, bits: mode_t) throws(EngineError) {
        if isDirectory(path) { return }
        let parentDir = parent(of: path)
        if parentDir != path { try makeDirectories(parentDir, bits: bits) }
        if mkdir(path, bits) != 0 && errno != EEXIST { throw EngineError.fromErrno("create directory", path, errno) }
        try fsyncDirectory(parentDir)
    }

    /// Creates one directory that must not exist yet (a backup being written), with the
    /// permissions `FilePermissions` gives it.
    package static func makeNewDirectory(_ path: String, purpose: String) throws(EngineError) {
        if mkdir(path, FilePermissions.directoryBits(for: path)) != 0 { throw EngineError.fromErrno("create \(purpose)", path, errno) }
    }

    /// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
    /// The file gets the permissions `FilePermissions` gives `path`.
    package static func atomicWrite(_ bytes: [UInt8], to path: String) throws(EngineError) {
        try atomicWrite(to: path) { (f: RawFile) throws(EngineError) in try f.write(bytes, at: 0) }
    }

    /// `atomicWrite` of what `write` writes into the new file.
    package static func atomicWrite(to path: String, _ write: (RawFile) throws(EngineError) -> Void) throws(EngineError) {
        let dir = parent(of: path)
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(EngineError) {
            let f = try RawFile(path: tmp, mode: .createNew, permissions: FilePermissions.fileMode(for: path))
            try write(f)
            try f.sync()
            if let e = FaultInjector.errno(.rename, path) { throw EngineError.fromErrno("rename", path, e) }
            if Glibc.rename(tmp, path) != 0 { throw EngineError.fromErrno("rename", path, errno) }
        } catch {
            unlink(tmp)
            throw error
        }
        try fsyncDirectory(dir)
    }

    package static func rename(_ from: String, _ to: String) throws(EngineError) {
        if let e = FaultInjector.errno(.rename, to) { throw EngineError.fromErrno("rename \(from) to", to, e) }
        if Glibc.rename(from, to) != 0 { throw EngineError.fromErrno("rename \(from) to", to, errno) }
    }

    /// Renames only if `to` does not exist (Linux renameat2 with RENAME_NOREPLACE), so a file
    /// that appeared meanwhile is never overwritten. Works for files and directories.
    package static func renameNoReplace(_ from: String, _ to: String) throws(EngineError) {
        if let e = FaultInjector.errno(.rename, to) { throw EngineError.fromErrno("rename \(from) to", to, e) }
        if cairn_rename_noreplace(from, to) == 0 { return }
        let e = errno
        if e == EEXIST { throw .targetExists(path: to) }
        throw EngineError.fromErrno("rename \(from) to", to, e)
    }

    package static func readAll(_ path: String) throws(EngineError) -> [UInt8] {
        let f = try RawFile(path: path, mode: .read)
        let size = Int(try f.size())
        var out = [UInt8](repeating: 0, count: size)
        let n = try out.withMutableBytes { (p, count) throws(EngineError) -> Int in
            try f.read(into: p, count: count, at: 0)
        }
        if n < size { out.removeLast(size - n) }
        return out
    }

    /// Takes the write bits away from a file Cairn wrote (an image copy), leaving its read bits
    /// as they are.
    package static func makeReadOnly(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        chmod(path, st.st_mode & 0o7777 & ~0o222)
    }

    package static func removeFile(_ path: String) {
        unlink(path)
    }

    /// Removes a directory tree (used for temporary and partial outputs only).
    package static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    package static func list(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted() ?? []
    }
}

extension FileSystem {
    /// Copies a file in 1 MiB chunks and fsyncs the copy (a new file, with the permissions
    /// `FilePermissions` gives `target`).
    package static func copyDurably(from source: String, to target: String) throws(EngineError) {
        let src = try RawFile(path: source, mode: .read)
        let dst = try RawFile(path: target, mode: .createNew)
        let size = try src.size()
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buf.deallocate() }
        var off: UInt64 = 0
        while off < size {
            let n = try src.read(into: buf, count: Int(min(UInt64(1 << 20), size - off)), at: off)
            if n == 0 { throw .truncated(file: source, expected: size, actual: off) }
            try dst.write(buf, count: n, at: off)
            off += UInt64(n)
        }
        try dst.sync()
    }

    /// XXH3 of a whole file.
    package static func hashFile(_ path: String) throws(EngineError) -> UInt64 {
        let f = try RawFile(path: path, mode: .read)
        let size = try f.size()
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buf.deallocate() }
        let h = StreamingHash()
        var off: UInt64 = 0
        while off < size {
            let n = try f.read(into: buf, count: Int(min(UInt64(1 << 20), size - off)), at: off)
            if n == 0 { break }
            h.update(buf, n)
            off += UInt64(n)
        }
        return h.value
    }
}

extension FileSystem {
    /// The whole contents of a file of /proc (nil when it cannot be opened). Such files report
    /// a size of 0 and Foundation's readers stop after their first buffer (4 KiB of
    /// /proc/locks: a few dozen locks out of thousands), so this reads until the end.
    package static func readProcFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? out : nil }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
