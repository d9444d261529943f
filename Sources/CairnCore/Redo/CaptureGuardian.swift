import Foundation
import Logging

/// A second pin on the WAL, held by the `cairn archive --follow` process while the capture
/// itself runs in a worker process. If the worker dies (even by SIGKILL), this pin still
/// keeps SQLite from restarting the WAL over frames not yet captured, and the guardian starts
/// a new worker, which resumes from the online log.
///
/// The guardian's pin follows the worker's: after each step the worker asks `REPIN` (a line on
/// its standard output, answered `OK` on its input) once its own pins are at the end of what
/// it captured; the guardian then opens a new read transaction before closing its old one. A
/// new pin can only land where the worker's pins allow (a read mark at the end of the WAL, or
/// the database file alone once every frame was captured and copied), so the guardian never
/// stands in the way of a checkpoint for longer than the worker does.
///
/// A worker is started with the guardian's `RestartBlocker` locked and inherited (fd 3): if the
/// guardian is killed while its worker starts, before the worker's own pins stand, the WAL still
/// cannot be restarted; the worker unlocks it after its first step.
public final class CaptureGuardian {
    let databasePath: String
    let logger: Logger
    public var say: (String) -> Void = { _ in }
    private let pins: WALPin
    /// The capture lock of the database. When set, each worker start first replaces
    /// orphaned workers (left by a guardian that was killed) and refuses while another
    /// capture runs (see `clearWayForWorker`).
    public var captureLockFile: String?
    /// How long an orphaned worker gets to make way before it is killed.
    public var orphanStopTimeout: TimeInterval = 5
    /// How long to wait for a brief holder of the capture lock (a backup) before refusing.
    public var holderWait: TimeInterval = 60
    /// Stops the guardian: its worker is asked to capture and archive everything, then stop.
    public let stopRequest = StopRequest()

    public init(databasePath: String, logger: Logger = Logger(label: "cairn")) throws(CairnError) {
        self.databasePath = databasePath
        self.logger = logger
        pins = try WALPin(databasePath: databasePath)
    }

    /// Whether this guardian holds a pin.
    var pinned: Bool { pins.isPinned }

    /// Opens a new pin, then closes the previous one.
    func pinNow() {
        do throws(CairnError) {
            try pins.openNext()
            pins.closePrevious()
        } catch {
            logger.error("guardian could not move its pin: \(error.description)")
        }
    }

    func pinOrThrow() throws(CairnError) {
        for _ in 0..<20 where !pins.isPinned {
            pinNow()
            if !pins.isPinned { usleep(100_000) }
        }
        guard pins.isPinned else {
            throw .databaseBusy(path: databasePath, detail: "the capture guardian could not open a read transaction to pin the WAL")
        }
    }

    func unpin() { pins.closeAll() }

    /// Carries out one request of the worker; the reply line, or nil for an unknown request.
    func answer(_ request: String) -> String? {
        switch request {
        case "REPIN":
            pinNow()
            return "OK\n"
        default: return nil
        }
    }

    /// Runs workers (`arguments` of this executable) until one exits cleanly or a stop is
    /// requested; a worker that dies abnormally is restarted. When a stop comes while the
    /// worker is dead, one more worker runs with `drainArgument` to capture and archive
    /// everything committed before the guardian lets go of the WAL. Returns the exit status
    /// to end with: 0, or the status of a worker that stopped for good (its error was
    /// reported on standard error).
    public func run(executable: String, arguments: [String], drainArgument: String) throws(CairnError) -> Int32 {
        try pinOrThrow()
        defer { unpin() }
        let blocker = try RestartBlocker.forDatabase(databasePath)
        var restarts = 0
        var draining = false
        var firstStart = true
        while true {
            try clearWayForWorker(firstStart: firstStart)
            firstStart = false
            try blocker.lock()
            let worker = try WorkerProcess(executable: executable, arguments: draining ? arguments + [drainArgument] : arguments,
                                           blocker: blocker)
            serve(worker, forwardStop: !draining)
            // Whatever happened, this guardian's pin protects the WAL now.
            blocker.unlock()
            let end = worker.wait()
            if end.cleanExit { return 0 }
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

    /// Answers the worker's requests and forwards stop and switch requests until it exits.
    private func serve(_ worker: WorkerProcess, forwardStop: Bool) {
        var stopForwarded = !forwardStop
        while true {
            if stopRequest.isRequested && !stopForwarded {
                stopForwarded = true
                kill(worker.pid, SIGINT)
            }
            if CaptureSignals.takeSwitchLog() { kill(worker.pid, SIGUSR1) }
            guard let lines = worker.readLines(timeoutMs: 100) else { return }
            for line in lines {
                guard let reply = answer(line) else { continue }
                // The worker may have died since it asked: a broken pipe is not an error here.
                worker.reply(reply)
            }
        }
    }
}

/// The worker's side of the guardian protocol (standard output and input).
///
/// The link breaks when the guardian dies: a request meets a closed pipe (EPIPE, end of
/// input), no answer comes within two seconds, or this process was reparented (`getppid()`
/// changed). The worker then keeps capturing alone under its own pins.
public final class GuardianLink: @unchecked Sendable {
    private var broken = false
    private let parent = getppid()
    private let input: Int32, output: Int32
    /// The guardian's answers come on `input`, requests go to `output` (a worker's standard
    /// input and output).
    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.input = input
        self.output = output
    }

    /// Sends a request; true when answered OK, false when the link broke.
    private func ask(_ word: String) -> Bool {
        guard isConnected else { return false }
        let line = word + "\n"
        let ok = line.withCString { p in write(output, p, strlen(p)) } > 0
        var reply = [UInt8](repeating: 0, count: 3)
        var got = 0
        var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        while ok && got < 3 && poll(&p, 1, 2_000) > 0 {
            let n = reply.withUnsafeMutableBytes { read(input, $0.baseAddress! + got, 3 - got) }
            if n <= 0 { break }
            got += n
        }
        if got == 3 && reply == Array("OK\n".utf8) { return true }
        broken = true
        return false
    }

    public var isConnected: Bool {
        if !broken && getppid() != parent { broken = true }
        return !broken
    }

    /// Asks the guardian to move its pin to where this process's pins now are.
    @discardableResult func repin() -> Bool { ask("REPIN") }
}
