import Foundation
import Logging

/// A second pin on the WAL, held by the `cairn archive --follow` process while the capture
/// itself runs in a worker process. If the worker dies (even by SIGKILL), this pin still
/// keeps SQLite from restarting the WAL over frames not yet captured, and the guardian starts
/// a new worker, which resumes from the online log.
///
/// The worker talks to the guardian in lines on its standard output, answered `OK` or `NO`
/// on its input: `REPIN` moves the guardian's pin forward; `CHECKPOINT` and `CAPTURED` run
/// Cairn's checkpoint with the write lock held by the guardian (see below), and `UNLOCK`
/// gives the lock back when the worker cannot finish its part.
public final class CaptureGuardian {
    let databasePath: String
    let logger: Logger
    public var say: (String) -> Void = { _ in }
    private let pin: SQLiteConnection
    private(set) var pinned = false
    /// The capture lock of the database. When set, each worker start first replaces
    /// orphaned workers (left by a guardian that was killed) and refuses while another
    /// capture runs (see `clearWayForWorker`).
    public var captureLockFile: String?
    /// How long an orphaned worker gets to stop cleanly before it is killed.
    public var orphanStopTimeout: TimeInterval = 60
    /// How long to wait for a brief holder of the capture lock (a backup) before refusing.
    public var holderWait: TimeInterval = 60
    /// Stops the guardian: its worker is asked to capture and archive everything, then stop.
    public let stopRequest = StopRequest()

    public init(databasePath: String, logger: Logger = Logger(label: "cairn")) throws(CairnError) {
        self.databasePath = databasePath
        self.logger = logger
        pin = try SQLiteConnection(path: databasePath, readOnly: true)
    }

    func pinNow() {
        guard !pinned else { return }
        do throws(CairnError) {
            try pin.exec("BEGIN")
            _ = try pin.scalar("SELECT count(*) FROM sqlite_master")
            pinned = true
        } catch {
            try? pin.exec("ROLLBACK")
            logger.error("guardian could not pin the WAL: \(error.description)")
        }
    }

    func pinOrThrow() throws(CairnError) {
        for _ in 0..<20 where !pinned {
            pinNow()
            if !pinned { usleep(100_000) }
        }
        guard pinned else {
            throw .databaseBusy(path: databasePath, detail: "the capture guardian could not open a read transaction to pin the WAL")
        }
    }

    func unpin() {
        guard pinned else { return }
        try? pin.exec("ROLLBACK")
        pinned = false
    }

    // MARK: Cairn's checkpoint, with the write lock held here
    //
    // Letting SQLite restart the WAL needs a moment with no pin at all. The guardian holds
    // the write lock through that moment, so if the worker dies meanwhile no transaction can
    // commit before the guardian has pinned again: `CHECKPOINT` takes the lock; the worker
    // captures everything and drops its pins; `CAPTURED` makes the guardian drop its own pin,
    // checkpoint every frame, pin again and release the lock.
    private var writer: SQLiteConnection?

    func lockWriters() -> Bool {
        guard writer == nil, let w = try? SQLiteConnection(path: databasePath, busyTimeoutMs: 1_000) else { return false }
        do throws(CairnError) { try w.exec("BEGIN IMMEDIATE") } catch { w.close(); return false }
        writer = w
        return true
    }

    /// Carries out one request of the worker; the reply line, or nil for an unknown request.
    func answer(_ request: String) -> String? {
        switch request {
        case "REPIN": unpin(); pinNow(); return "OK\n"
        case "CHECKPOINT": return lockWriters() ? "OK\n" : "NO\n"
        case "CAPTURED": return checkpointAndUnlock() ? "OK\n" : "NO\n"
        case "UNLOCK": unlockWriters(); return "OK\n"
        default: return nil
        }
    }

    func checkpointAndUnlock() -> Bool {
        guard writer != nil else { return false }
        unpin()
        let row = (try? SQLiteConnection(path: databasePath)).flatMap { c -> [String?]? in
            defer { c.close() }
            return try? c.rows("PRAGMA wal_checkpoint(PASSIVE)").first
        } ?? []
        pinNow()
        unlockWriters()
        return row.count == 3 && row[1] == row[2]
    }

    func unlockWriters() {
        guard let w = writer else { return }
        try? w.exec("ROLLBACK")
        w.close()
        writer = nil
    }

    /// Runs workers (`arguments` of this executable) until one exits cleanly or a stop is
    /// requested; a worker that dies abnormally is restarted. When a stop comes while the
    /// worker is dead, one more worker runs with `drainArgument` to capture and archive
    /// everything committed before the guardian lets go of the WAL.
    public func run(executable: String, arguments: [String], drainArgument: String) throws(CairnError) {
        pinNow()
        defer { unpin() }
        var restarts = 0
        var draining = false
        var firstStart = true
        while true {
            try clearWayForWorker(firstStart: firstStart)
            firstStart = false
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = draining ? arguments + [drainArgument] : arguments
            let toWorker = Pipe(), fromWorker = Pipe()
            p.standardInput = toWorker
            p.standardOutput = fromWorker
            do { try p.run() } catch {
                throw .io(operation: "start the capture worker (\(error))", path: executable, errno: EIO)
            }
            let reader = fromWorker.fileHandleForReading
            var buffer = Data()
            var stopForwarded = draining
            while true {
                if stopRequest.isRequested && !stopForwarded {
                    stopForwarded = true
                    kill(p.processIdentifier, SIGINT)
                }
                if CaptureSignals.takeSwitchLog() {
                    kill(p.processIdentifier, SIGUSR1)
                }
                var pfd = pollfd(fd: reader.fileDescriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, 100)
                if ready <= 0 { continue }
                let chunk = reader.availableData
                if chunk.isEmpty { break } // the worker exited
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    guard let reply = answer(line) else { continue }
                    // The worker may have died since it asked: a broken pipe is not an error here.
                    try? toWorker.fileHandleForWriting.write(contentsOf: Data(reply.utf8))
                }
            }
            p.waitUntilExit()
            // Whatever happened, the WAL is pinned again before writers may go on.
            pinNow()
            unlockWriters()
            if p.terminationReason == .exit && p.terminationStatus == 0 { return }
            if draining {
                throw .io(operation: "capture worker could not finish capturing and archiving (status \(p.terminationStatus))", path: databasePath, errno: EIO)
            }
            if stopRequest.isRequested {
                // The worker did not finish by itself: drain with a fresh worker.
                draining = true
                continue
            }
            restarts += 1
            let how = p.terminationReason == .uncaughtSignal ? "was killed by signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)"
            say("capture worker \(p.processIdentifier) \(how); restarting it (restart \(restarts)); the WAL stays pinned")
            logger.warning("capture worker \(how); restarting")
            if p.terminationReason == .exit && restarts > 20 {
                throw .io(operation: "capture worker keeps failing (last status \(p.terminationStatus))", path: databasePath, errno: EIO)
            }
            usleep(UInt32(min(2_000_000, 50_000 * restarts)))
        }
    }
}

/// The worker's side of the guardian protocol (standard output and input).
///
/// The link breaks when the guardian dies: a request meets a closed pipe (EPIPE, end of
/// input), or this process was reparented (`getppid()` changed). The worker then keeps
/// capturing alone, checkpointing under a write lock of its own (see `CaptureService.run`).
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

    /// Sends a request; true when answered OK, false when answered NO or the link broke.
    private func ask(_ word: String) -> Bool {
        guard isConnected else { return false }
        let line = word + "\n"
        let ok = line.withCString { p in write(output, p, strlen(p)) } > 0
        var reply = [UInt8](repeating: 0, count: 3)
        let n = ok ? read(input, &reply, 3) : 0
        if n == 3 && reply == Array("OK\n".utf8) { return true }
        if n != 3 || reply != Array("NO\n".utf8) { broken = true }
        return false
    }

    public var isConnected: Bool {
        if !broken && getppid() != parent { broken = true }
        return !broken
    }
    /// Asks the guardian to take the write lock for Cairn's checkpoint.
    func lockForCheckpoint() -> Bool { ask("CHECKPOINT") }
    /// Everything is captured and this process holds no pin: the guardian checkpoints, pins
    /// and releases the write lock. True when every frame was checkpointed.
    func checkpointCaptured() -> Bool { ask("CAPTURED") }
    /// The checkpoint cannot go on (the capture failed or stalled before everything was
    /// captured): the guardian releases the write lock without checkpointing.
    @discardableResult func abandonCheckpoint() -> Bool { ask("UNLOCK") }

    /// Asks the guardian to move its pin to the current end of the WAL (only while this
    /// process holds pins of its own), so checkpoints can progress past its old mark.
    @discardableResult func repin() -> Bool { ask("REPIN") }
}
