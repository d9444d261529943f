import Foundation
import CairnEngines

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
        // Capture shares one inotify instance per process and watches each database's directory.
        problems += InotifyLimits.current(creatingHub: true).problems(directories: directories)
        return problems
    }
}
