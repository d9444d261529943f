import Foundation

/// A process as Linux shows it in /proc: arguments, parent and state.
struct LinuxProcess {
    let pid: Int32
    let parent: Int32
    /// The state letter of /proc/PID/stat (`Z`: exited, waiting to be reaped).
    let state: Character
    let arguments: [String]

    init?(_ pid: Int32) {
        guard pid > 0,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        // "PID (COMMAND) STATE PPID ...": the command may hold spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 2, let st = fields[0].first, let ppid = Int32(fields[1]) else { return nil }
        self.pid = pid
        parent = ppid
        state = st
        arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    var isRunning: Bool { state != "Z" && state != "X" }

    /// `cairn archive … --follow` (a guardian, a worker, or a capture without guardian).
    var isFollowCapture: Bool { arguments.dropFirst().first == "archive" && arguments.contains("--follow") }
    /// The capture worker a guardian starts: `cairn archive DB --follow --worker`.
    var isWorker: Bool { isFollowCapture && arguments.contains("--worker") }
    var isGuardian: Bool { isFollowCapture && !arguments.contains("--worker") && !arguments.contains("--no-guardian") }

    /// Whether this is a worker for `databasePath` (compared after resolving links; the
    /// guardian passes the absolute path).
    func isWorker(of databasePath: String) -> Bool {
        guard isWorker, arguments.count > 2 else { return false }
        return LinuxProcess.resolved(arguments[2]) == LinuxProcess.resolved(databasePath)
    }

    /// A worker whose guardian is gone: it was reparented (to init or a subreaper), so its
    /// parent is no longer a running `cairn archive --follow`.
    var isOrphanedWorker: Bool {
        guard isWorker, isRunning else { return false }
        guard let p = LinuxProcess(parent), p.isRunning else { return true }
        return !p.isGuardian
    }

    static func resolved(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    static func all() -> [LinuxProcess] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { Int32($0) }.compactMap { LinuxProcess($0) }
    }
}

// MARK: - Taking over from an orphaned worker
//
// A guardian killed with SIGKILL leaves its worker running: it captures on under its own
// pins (see `GuardianLink`), but nobody restarts it if it dies, and it holds the capture
// lock. A new guardian replaces it. It pins the WAL first: a worker that has been capturing
// holds a pin at or below what it has captured, which keeps checkpoints from copying back
// any frame it has not captured, so the new pin, taken meanwhile, covers every such frame
// (a pin that begins while every frame is checkpointed blocks further checkpoints; any
// other pin blocks WAL restarts). A worker still starting, before its first step, holds its
// dead guardian's restart blocker, which blocks restarts outright. From then on the orphan
// may stop or die at any moment without a loss. Then the guardian asks it to make way
// (SIGUSR2: capture what it can, close its log, exit without archiving), kills it if it has
// not gone within `orphanStopTimeout` (5 s), and starts its own worker, which resumes from
// the online log and archives.

extension CaptureGuardian {
    /// Clears the way for this guardian's worker. Orphaned workers of this database are
    /// replaced. A running `--follow` capture that is not an orphan (another guardian's
    /// worker, `--no-guardian`) is refused with `captureRunning`; another holder of the
    /// capture lock (a backup, `archive --once`, `switch-log`) is waited for up to
    /// `holderWait`, then refused the same way. When restarting a worker (`firstStart`
    /// false) only orphans are replaced: the new worker waits for the lock itself, under
    /// this guardian's pin.
    func clearWayForWorker(firstStart: Bool) throws(CairnError) {
        guard let lockFile = captureLockFile else { return }
        let deadline = Date().addingTimeInterval(holderWait)
        var announced = false
        while true {
            let orphans = LinuxProcess.all().filter { $0.pid != getpid() && $0.isOrphanedWorker && $0.isWorker(of: databasePath) }
            if !orphans.isEmpty {
                try replace(orphans)
                continue
            }
            guard firstStart, CaptureLock.isHeld(path: lockFile) else { return }
            let pid = CaptureLock.holder(path: lockFile)
            if let pid, let holder = LinuxProcess(pid), holder.isRunning, holder.isFollowCapture {
                throw .captureRunning(pid: pid, lockFile: lockFile)
            }
            if Date() >= deadline || stopRequest.isRequested { throw .captureRunning(pid: pid, lockFile: lockFile) }
            if !announced {
                announced = true
                say("waiting for process \(pid.map(String.init) ?? "?") to release the capture lock \(lockFile)")
            }
            usleep(100_000)
        }
    }

    /// Stops orphaned workers: SIGUSR2 (make way), then SIGKILL after `orphanStopTimeout`.
    private func replace(_ orphans: [LinuxProcess]) throws(CairnError) {
        // This guardian's pin, taken when it started, blocks every WAL restart until its own
        // worker moves it: no frame the orphans have not captured can be dropped, even if they
        // die or must be killed.
        for o in orphans {
            say("capture worker \(o.pid) of \(databasePath) lost its guardian; asking it to make way and taking over; the WAL stays pinned")
            logger.warning("replacing orphaned capture worker \(o.pid)")
            kill(o.pid, SIGUSR2)
        }
        func running(_ o: LinuxProcess) -> Bool {
            guard let now = LinuxProcess(o.pid) else { return false }
            return now.isRunning && now.isWorker(of: databasePath)
        }
        let deadline = Date().addingTimeInterval(orphanStopTimeout)
        while orphans.contains(where: running) && Date() < deadline { usleep(5_000) }
        for o in orphans where running(o) {
            say("capture worker \(o.pid) did not stop within \(Int(orphanStopTimeout)) s; killing it (the WAL stays pinned, its successor resumes from the online log)")
            kill(o.pid, SIGKILL)
        }
        let killDeadline = Date().addingTimeInterval(5)
        while orphans.contains(where: running) && Date() < killDeadline { usleep(20_000) }
        if let o = orphans.first(where: running) {
            throw .captureRunning(pid: o.pid, lockFile: captureLockFile ?? "")
        }
    }
}
