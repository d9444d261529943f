import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// The `cairn archive --follow` process: holds the WAL pin while the capture itself runs in a
/// worker process, and restarts the worker when it dies.
///
/// Guardian and worker hold one and the same pin (see `WALPin`): the guardian takes it, and
/// each worker inherits its descriptors and moves it as it captures. If the worker dies, even
/// by SIGKILL at any instant, the pin stays where the worker left it — protecting every frame
/// the worker had not captured — and the guardian starts a new worker, which resumes from the
/// online log. If the guardian dies, the worker holds the pin alone and captures on; a new
/// guardian replaces it (see `clearWayForWorker`).
package final class CaptureGuardian {
    let databasePath: String
    let logger: Logger
    package var say: (String) -> Void = { _ in }
    /// Keeps the WAL and its index open in WAL mode (opened anew on files that replaced them).
    private var keeper: SQLiteConnection
    private(set) var pin: WALPin
    /// The capture lock of the database. When set, each worker start first replaces
    /// orphaned workers (left by a guardian that was killed) and refuses while another
    /// capture runs (see `clearWayForWorker`).
    package var captureLockFile: String?
    /// How long an orphaned worker gets to make way before it is killed.
    package var orphanStopTimeout: TimeInterval = 5
    /// How long to wait for a brief holder of the capture lock (a backup) before refusing.
    package var holderWait: TimeInterval = 60
    /// Stops the guardian: its worker is asked to capture and archive everything, then stop.
    package let stopRequest = StopRequest()

    /// Takes the pin at once (blocking every WAL restart until a worker moves it).
    package init(databasePath: String, logger: Logger = Logger(label: "cairn")) throws(EngineError) {
        self.databasePath = databasePath
        self.logger = logger
        keeper = try DatabaseFiles.openKeeper(databasePath)
        pin = try WALPin(databasePath: databasePath)
    }

    /// Whether this guardian holds a pin.
    var pinned: Bool { pin.isPinned }

    /// Lets go of the pin (the workers are done).
    func unpin() { pin.releaseAll() }

    /// Runs workers (`arguments` of this executable) until one exits cleanly or a stop is
    /// requested; a worker that dies abnormally is restarted. When a stop comes while the
    /// worker is dead, one more worker runs with `drainArgument` to capture and archive
    /// everything committed before the guardian lets go of the WAL. Returns the exit status
    /// to end with: 0, or the status of a worker that stopped for good (its error was
    /// reported on standard error).
    package func run(executable: String, arguments: [String], drainArgument: String) throws(EngineError) -> Int32 {
        var restarts = 0
        var draining = false
        var firstStart = true
        while true {
            if firstStart { try refuseIfCaptureRuns() }
            firstStart = false
            let worker = try WorkerProcess(executable: executable, arguments: draining ? arguments + [drainArgument] : arguments, pin: pin)
            do throws(EngineError) { try replaceOrphans(besides: worker.pid) } catch {
                kill(worker.pid, SIGKILL)
                _ = worker.wait()
                throw error
            }
            let end = serve(worker, forwardStop: !draining)
            if end.cleanExit {
                pin.releaseAll()
                return 0
            }
            if end.filesReplaced {
                // The worker captured what the old WAL held; the new files get a new pin, shared
                // with the next worker, which checks them against what was captured.
                try pinNewFiles()
                say("the WAL of \(databasePath) was replaced; capture goes on with the new one")
                continue
            }
            if draining || end.isFinal { return end.status }
            if stopRequest.isRequested {
                // The worker did not finish by itself: drain with a fresh worker.
                draining = true
                continue
            }
            restarts += 1
            say("capture worker \(worker.pid) \(end.text); restarting it (restart \(restarts)); the WAL stays pinned")
            logger.warning("capture worker \(end.text); restarting")
            if !end.killedBySignal && restarts > 20 { return end.status }
            usleep(UInt32(min(2_000_000, 50_000 * restarts)))
        }
    }

    /// Pins the WAL and index that replaced the ones pinned. There may be none yet (deleted,
    /// and no application has opened the database since): the keeper is opened anew, which has
    /// SQLite create them (it would otherwise hand this process's open, deleted index to the
    /// new connection). The old pin holds the database's shared lock until the new one does, so
    /// no application's last connection can remove the new files meanwhile.
    private func pinNewFiles() throws(EngineError) {
        keeper.close()
        keeper = try DatabaseFiles.openKeeper(databasePath)
        pin = try WALPin(databasePath: databasePath)
    }

    /// Forwards stop and switch requests to the worker until it exits; how it ended.
    private func serve(_ worker: WorkerProcess, forwardStop: Bool) -> WorkerProcess.End {
        var stopForwarded = !forwardStop
        while true {
            if stopRequest.isRequested && !stopForwarded {
                stopForwarded = true
                kill(worker.pid, SIGINT)
            }
            if CaptureSignals.takeSwitchLog() { kill(worker.pid, SIGUSR1) }
            if let end = worker.poll() { return end }
            usleep(20_000)
        }
    }
}

/// The worker's side of the link to its guardian: the guardian is gone when this process was
/// reparented (`getppid()` changed) or its standard input, the guardian's pipe, reached its end.
package final class GuardianLink: Sendable {
    /// Once broken, always broken.
    private let broken = Atomic<Bool>(false)
    private let parent = getppid()
    private let input: Int32

    package init(input: Int32 = STDIN_FILENO) { self.input = input }

    package var isConnected: Bool {
        if broken.load(ordering: .acquiring) { return false }
        if getppid() != parent { return breaks() }
        var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 0) > 0, p.revents & Int16(POLLHUP | POLLIN) != 0 {
            var byte: UInt8 = 0
            if read(input, &byte, 1) <= 0 { return breaks() }
        }
        return true
    }

    private func breaks() -> Bool {
        broken.store(true, ordering: .releasing)
        return false
    }
}
