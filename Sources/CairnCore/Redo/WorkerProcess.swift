import CSystemShim
import Foundation

/// A capture worker started by a guardian: this executable with the worker's arguments, its
/// standard input and output connected to the guardian by pipes, its standard error shared,
/// and the guardian's restart blocker inherited as descriptor 3 (see `RestartBlocker`).
///
/// Started with posix_spawn rather than Foundation's `Process` so that exactly these
/// descriptors, and no other, reach the worker.
final class WorkerProcess {
    let pid: pid_t
    private let fromWorker: Int32
    private let toWorker: Int32
    private var buffer: [UInt8] = []

    init(executable: String, arguments: [String], blocker: RestartBlocker) throws(CairnError) {
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard cairn_pipe_cloexec(&input) == 0 else { throw CairnError.fromErrno("create a pipe for", executable, errno) }
        guard cairn_pipe_cloexec(&output) == 0 else {
            close(input[0]); close(input[1])
            throw CairnError.fromErrno("create a pipe for", executable, errno)
        }
        // dup2 onto the same number would leave close-on-exec set: keep the source elsewhere.
        let shared = blocker.descriptor == RestartBlocker.childDescriptor ? fcntl(blocker.descriptor, F_DUPFD_CLOEXEC, 10) : blocker.descriptor
        defer { if shared != blocker.descriptor { close(shared) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, shared, RestartBlocker.childDescriptor)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The worker starts with no blocked signals and default handlers for those the
        // guardian catches or ignores.
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var environment = ProcessInfo.processInfo.environment
        environment[RestartBlocker.environmentKey] = String(RestartBlocker.childDescriptor)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(input[0])
        close(output[1])
        guard rc == 0 else {
            close(input[1]); close(output[0])
            throw .io(operation: "start the capture worker", path: executable, errno: rc)
        }
        pid = child
        toWorker = input[1]
        fromWorker = output[0]
    }

    deinit {
        close(toWorker)
        close(fromWorker)
    }

    /// Complete lines the worker wrote within `timeoutMs` (possibly none); nil once it closed
    /// its end (it exited).
    func readLines(timeoutMs: Int32) -> [String]? {
        var p = pollfd(fd: fromWorker, events: Int16(POLLIN), revents: 0)
        let ready = poll(&p, 1, timeoutMs)
        if ready < 0 && errno == EINTR { return [] }
        if ready <= 0 { return [] }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { read(fromWorker, $0.baseAddress, 4096) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return [] }
        if n <= 0 { return nil }
        buffer.append(contentsOf: chunk[0..<n])
        var lines: [String] = []
        while let nl = buffer.firstIndex(of: 0x0A) {
            lines.append(String(decoding: buffer[..<nl], as: UTF8.self))
            buffer.removeSubrange(...nl)
        }
        return lines
    }

    /// Writes a reply line (ignoring a worker that is gone).
    func reply(_ line: String) {
        _ = line.withCString { write(toWorker, $0, strlen($0)) }
    }

    /// How a worker ended.
    struct End {
        let status: Int32
        let killedBySignal: Bool
        var cleanExit: Bool { !killedBySignal && status == 0 }
        /// Exits that restarting cannot help: the database is gone (3), or another capture
        /// holds the database (1 with the lock taken is reported by the worker itself).
        var isFinal: Bool { !killedBySignal && status == CairnError.databaseVanished(path: "", replaced: false, scn: 0).exitCode }
        var text: String { killedBySignal ? "was killed by signal \(status)" : "exited with status \(status)" }
    }

    /// Waits for the worker to exit.
    func wait() -> End {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        return End(status: signaled ? status & 0x7f : (status >> 8) & 0xff, killedBySignal: signaled)
    }
}
