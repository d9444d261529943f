import Foundation
import CairnFormats
import CairnCatalog

/// Only one process captures a database at a time: an exclusive `flock` on
/// `capture/capture.lock`, which also records the holder's process id. Sendable: a held lock
/// is only its descriptor, released when the object goes.
package final class CaptureLock: Sendable {
    let path: String
    private let fd: Int32

    /// Takes the lock, or returns nil when another process holds it. A `status` probing the
    /// lock holds it (shared) for an instant, so a refusal is confirmed over a few
    /// milliseconds: a probe never makes a capture that starts at that moment fail.
    init?(path: String) throws(EngineError) {
        self.path = path
        try FileSystem.makeDirectories(FileSystem.parent(of: path))
        let fd = FilePermissions.openCreating(path, O_RDWR | O_CREAT | O_CLOEXEC)
        if fd < 0 { throw EngineError.fromErrno("open capture lock", path, errno) }
        // A probe (`isHeld`) holds a shared lock for a moment: try for up to 0.2 s, so that
        // even probes back to back (several `status` at once, a busy machine) cannot make a
        // capture starting meanwhile fail; a real holder is refused after that.
        var tries = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            tries += 1
            if tries > 200 {
                Glibc.close(fd)
                return nil
            }
            usleep(1_000)
        }
        self.fd = fd
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { Glibc.close(fd) }

    /// Whether some process holds the lock now (probed with a shared lock released at once).
    package static func isHeld(path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { Glibc.close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// Process id written by the current holder, if any.
    static func holder(path: String) -> Int32? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
