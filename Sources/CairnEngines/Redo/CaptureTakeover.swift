import Foundation
import CairnFormats
import CairnCatalog

/// A process as Linux shows it in /proc: arguments, parent and state.
package struct LinuxProcess {
    let pid: Int32
    let parent: Int32
    /// The state letter of /proc/PID/stat (`Z`: exited, waiting to be reaped).
    let state: Character
    let arguments: [String]

    init?(_ pid: Int32) {
        guard pid > 0,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let cmdline = FileSystem.readProcFile("/proc/\(pid)/cmdline") else { return nil }
        // "PID (COMMAND) STATE PPID ...": the command may hold spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 2, let st = fields[0].first, let ppid = Int32(fields[1]) else { return nil }
        self.pid = pid
        parent = ppid
        state = st
        arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    package var isRunning: Bool { state != "Z" && state != "X" }

    /// `cairn archive … --follow` (a guardian, a worker, or a capture without guardian).
    var isFollowCapture: Bool { arguments.dropFirst().first == "archive" && arguments.contains("--follow") }
    /// The capture worker a guardian starts: `cairn archive DB --follow --worker`.
    var isWorker: Bool { isFollowCapture && arguments.contains("--worker") }
    var isGuardian: Bool { isFollowCapture && !arguments.contains("--worker") && !arguments.contains("--no-guardian") }

    /// Whether this is a worker for `databasePath` (compared after resolving links; the
    /// guardian passes the absolute path).
    package func isWorker(of databasePath: String) -> Bool {
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

    package static func all() -> [LinuxProcess] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { Int32($0) }.compactMap { LinuxProcess($0) }
    }
}

// MARK: - Taking over from an orphaned worker
//
// A guardian killed with SIGKILL leaves its worker running: it captures on under the pin it
// shared with the guardian, now its own (see `WALPin`), but nobody restarts it if it dies,
// and it holds the capture lock. A new guardian replaces it, in an order that leaves at every
// instant a live process holding a pin that protects what the orphan has not captured:
// 1. The new guardian's own pin, taken when it started, blocks every WAL restart (and every
//    copy) until a worker of its own moves it.
// 2. It starts its worker, which holds that pin too (inherited) and waits for the capture lock.
// 3. Only then does it ask the orphan to make way (SIGUSR2: capture what it can, close its log,
//    exit without archiving), and kills it if it has not gone within `orphanStopTimeout` (5 s).
//    Its worker takes the capture lock and resumes from the online log, and archives.
// Whichever of them is killed meanwhile, another one alive still holds a pin: the orphan
// (until it has gone), or the new worker (from the moment it exists).

extension CaptureGuardian {
    /// Refuses to start a worker while another capture of this database runs that is not an
    /// orphan (another guardian's worker, `--no-guardian`): `captureRunning`. Another holder of
    /// the capture lock (a backup, `archive --once`, `switch-log`) is waited for by the worker
    /// itself. Only checked when the guardian starts.
    func refuseIfCaptureRuns() throws(EngineError) {
        guard let lockFile = captureLockFile, CaptureLock.isHeld(path: lockFile) else { return }
        let pid = CaptureLock.holder(path: lockFile)
        if let pid, let holder = LinuxProcess(pid), holder.isRunning, holder.isFollowCapture,
           !(holder.isOrphanedWorker && holder.isWorker(of: databasePath)) {
            throw .captureRunning(pid: pid, lockFile: lockFile)
        }
    }

    /// Replaces the orphaned workers of this database (other than `mine`, this guardian's own
    /// new worker): SIGUSR2, then SIGKILL after `orphanStopTimeout`.
    func replaceOrphans(besides mine: pid_t) throws(EngineError) {
        guard captureLockFile != nil else { return }
        let orphans = LinuxProcess.all().filter {
            $0.pid != mine && $0.pid != getpid() && $0.isOrphanedWorker && $0.isWorker(of: databasePath)
        }
        guard !orphans.isEmpty else { return }
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
            say("capture worker \(o.pid) did not make way within \(Int(orphanStopTimeout)) s; killing it (the WAL stays pinned, its successor resumes from the online log)")
            kill(o.pid, SIGKILL)
        }
        let killDeadline = Date().addingTimeInterval(5)
        while orphans.contains(where: running) && Date() < killDeadline { usleep(5_000) }
        if let o = orphans.first(where: running) {
            throw .captureRunning(pid: o.pid, lockFile: captureLockFile ?? "")
        }
    }
}
