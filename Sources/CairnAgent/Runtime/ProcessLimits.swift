import Foundation

/// The limits an agent protecting many databases meets first: open files (each database keeps
/// a dozen or so open) and inotify (capture watches each database's directory). The soft
/// open-file limit is raised to the hard one; what is still too low is said with the fix.
enum ProcessLimits {
    static let filesPerDatabase = 16

    static func check(databases: Int, directories: Int) -> [String] {
        var problems: [String] = []
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            if limit.rlim_cur < limit.rlim_max {
                limit.rlim_cur = limit.rlim_max
                _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            }
            let needed = UInt64(databases * filesPerDatabase + 256)
            if UInt64(limit.rlim_cur) < needed {
                problems.append("the open-file limit is \(limit.rlim_cur) but \(databases) database(s) need about \(needed); raise it (LimitNOFILE=\(max(65536, needed)) in the systemd unit, or `ulimit -n \(needed)`)")
            }
        }
        if let watches = readNumber("/proc/sys/fs/inotify/max_user_watches"), watches < UInt64(directories + 64) {
            problems.append("fs.inotify.max_user_watches is \(watches) but \(directories) director(ies) are watched; raise it: `sysctl fs.inotify.max_user_watches=\(max(65536, directories * 2))` (and in /etc/sysctl.d/ to keep it)")
        }
        if let instances = readNumber("/proc/sys/fs/inotify/max_user_instances"), instances < 8 {
            problems.append("fs.inotify.max_user_instances is \(instances); capture needs a few; raise it: `sysctl fs.inotify.max_user_instances=128`")
        }
        return problems
    }

    private static func readNumber(_ path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
