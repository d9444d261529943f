import Foundation

/// The inotify limits of this user (`fs.inotify.*`) and what this process and the user's
/// processes use of them, for a process about to capture many databases to check at start:
/// capture needs one instance per process (`InotifyHub`) and one watch per directory holding
/// databases; a capture without a watch polls its files every 250 ms instead.
package struct InotifyLimits: Sendable, Equatable {
    /// `fs.inotify.max_user_instances`, `max_user_watches`, `max_queued_events` (nil: unreadable).
    package var maxUserInstances: Int?
    package var maxUserWatches: Int?
    package var maxQueuedEvents: Int?
    /// inotify instances open in this process, and the watches on them.
    package var processInstances: Int
    package var processWatches: Int
    /// The same over every process of this user that can be looked at (at least this many).
    package var userInstances: Int
    package var userWatches: Int
    /// Whether this process's shared instance exists (nil: not created yet); why not when not.
    package var hubCreated: Bool?
    package var hubError: String?
    /// The directories watched for captures, the captures subscribed, and how many
    /// subscriptions found no watch (the last error: ENOSPC when the watch limit is reached).
    package var watchedDirectories: Int
    package var subscriptions: Int
    package var failedWatches: Int
    package var lastWatchError: String?

    /// Reads the limits and counts what is in use now (creating the hub with `creatingHub`).
    package static func current(creatingHub: Bool = false) -> InotifyLimits {
        let hub: InotifyHub? = creatingHub || InotifyHub.exists ? InotifyHub.shared : nil
        let mine = usage(pid: "self")
        var user = (instances: 0, watches: 0)
        let uid = getuid()
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            var st = stat()
            guard stat("/proc/\(pid)", &st) == 0, st.st_uid == uid else { continue }
            let u = usage(pid: pid)
            user.instances += u.instances
            user.watches += u.watches
        }
        let hubUsage = hub?.usage
        return InotifyLimits(
            maxUserInstances: sysctl("max_user_instances"), maxUserWatches: sysctl("max_user_watches"),
            maxQueuedEvents: sysctl("max_queued_events"),
            processInstances: mine.instances, processWatches: mine.watches,
            userInstances: max(user.instances, mine.instances), userWatches: max(user.watches, mine.watches),
            hubCreated: hub.map { $0.descriptor >= 0 },
            hubError: hub.flatMap { $0.descriptor >= 0 ? nil : String(cString: strerror($0.initError)) },
            watchedDirectories: hubUsage?.watches ?? 0, subscriptions: hubUsage?.subscriptions ?? 0,
            failedWatches: hubUsage?.failedWatches ?? 0,
            lastWatchError: hubUsage.flatMap { $0.lastWatchError != 0 ? String(cString: strerror($0.lastWatchError)) : nil })
    }

    /// What stands in the way of capturing databases in `directories` more directories than
    /// are watched now, one line each, with the sysctl to raise; empty when nothing does.
    package func problems(directories: Int = 0) -> [String] {
        var lines: [String] = []
        if hubCreated == false {
            let limit = maxUserInstances.map(String.init) ?? "?"
            lines.append("inotify: this process could not create its inotify instance (\(hubError ?? "error")); this user's processes hold \(userInstances) of fs.inotify.max_user_instances = \(limit). "
                         + "Raise it: `sysctl fs.inotify.max_user_instances=\(Self.suggestion(used: userInstances, needed: 1, current: maxUserInstances, floor: 512))` "
                         + "(and in /etc/sysctl.d/ to keep it). Meanwhile every capture polls its files every 250 ms.")
        } else if hubCreated == nil, let limit = maxUserInstances, userInstances >= limit {
            lines.append("inotify: this user's processes hold \(userInstances) inotify instances, fs.inotify.max_user_instances is \(limit): capture needs one more. "
                         + "Raise it: `sysctl fs.inotify.max_user_instances=\(Self.suggestion(used: userInstances, needed: 1, current: limit, floor: 512))` (and in /etc/sysctl.d/ to keep it).")
        }
        if let limit = maxUserWatches, userWatches + directories > limit || failedWatches > 0 {
            let needed = max(directories, failedWatches)
            lines.append("inotify: \(needed) more director\(needed == 1 ? "y" : "ies") to watch, this user's processes hold \(userWatches) of fs.inotify.max_user_watches = \(limit)"
                         + (failedWatches > 0 ? " (\(failedWatches) watch(es) could not be added: \(lastWatchError ?? "error"))" : "") + ". "
                         + "Raise it: `sysctl fs.inotify.max_user_watches=\(Self.suggestion(used: userWatches, needed: needed, current: limit, floor: 65536))` "
                         + "(and in /etc/sysctl.d/ to keep it). Meanwhile a capture without a watch polls its files every 250 ms.")
        }
        return lines
    }

    /// A value to raise a limit to: twice what is needed, a power of two, at least `floor`.
    static func suggestion(used: Int, needed: Int, current: Int?, floor: Int) -> Int {
        var v = floor
        while v < 2 * (used + needed) || v <= (current ?? 0) { v *= 2 }
        return v
    }

    private static func sysctl(_ name: String) -> Int? {
        (try? String(contentsOfFile: "/proc/sys/fs/inotify/" + name, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// inotify instances open in process `pid` ("self" for this one) and their watches.
    static func usage(pid: String) -> (instances: Int, watches: Int) {
        let fdDirectory = "/proc/\(pid)/fd"
        var result = (instances: 0, watches: 0)
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + fd)) == "anon_inode:inotify" else { continue }
            result.instances += 1
            let info = (try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8)) ?? ""
            result.watches += info.split(separator: "\n").filter { $0.hasPrefix("inotify wd:") }.count
        }
        return result
    }
}
