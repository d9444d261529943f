import Foundation
import CairnFormats

/// Which processes hold a lock file, for messages ("waiting for process 1234 (cairn backup
/// app.db)"). Linux lists every `flock` in /proc/locks with the holder's process id and the
/// file's device and inode; the command line comes from /proc/PID/cmdline.
package enum LockHolders {
    /// The processes other than this one holding a lock on `path`, in words; "another
    /// process" when they cannot be told (the holder has just let go, or /proc is not there).
    package static func describe(_ path: String) -> String {
        let pids = holders(path).filter { $0 != getpid() }
        guard !pids.isEmpty else { return "another process" }
        let each = pids.map { pid in commandLine(pid).map { "process \(pid) (\($0))" } ?? "process \(pid)" }
        return each.joined(separator: ", ")
    }

    /// Process ids holding (not waiting for) a lock on the file at `path`.
    static func holders(_ path: String) -> [Int32] {
        var st = stat()
        guard stat(path, &st) == 0, let bytes = FileSystem.readProcFile("/proc/locks") else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        let inode = UInt64(st.st_ino)
        var out: [Int32] = []
        for line in text.split(separator: "\n") where !line.contains("->") {
            // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:16236788 0 EOF"
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, let pid = Int32(f[4]) else { continue }
            let id = f[5].split(separator: ":")
            guard id.count == 3, UInt64(id[2]) == inode, sameDevice(major: id[0], minor: id[1], st.st_dev) else { continue }
            if !out.contains(pid) { out.append(pid) }
        }
        return out
    }

    /// /proc/locks names devices as hexadecimal major:minor; `dev` is the kernel's encoding.
    private static func sameDevice(major: Substring, minor: Substring, _ dev: UInt) -> Bool {
        guard let ma = UInt64(major, radix: 16), let mi = UInt64(minor, radix: 16) else { return false }
        let d = UInt64(dev)
        let devMajor = ((d >> 8) & 0xfff) | ((d >> 32) & ~UInt64(0xfff))
        let devMinor = (d & 0xff) | ((d >> 12) & ~UInt64(0xff))
        return ma == devMajor && mi == devMinor
    }

    /// The command line of `pid`, its program shortened to the file name.
    package static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileSystem.readProcFile("/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        var args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard !args.isEmpty else { return nil }
        args[0] = (args[0] as NSString).lastPathComponent
        let line = args.joined(separator: " ")
        return line.count > 160 ? String(line.prefix(157)) + "..." : line
    }
}
