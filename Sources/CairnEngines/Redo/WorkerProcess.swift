import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// A capture worker started by a guardian: this executable with the worker's arguments, its
/// standard input connected to the guardian by a pipe (end of input: the guardian is gone), its
/// standard output and error shared, and the descriptors of the guardian's pin as descriptors
/// 3 and 4 (see `WALPin`): guardian and worker hold the same pin.
///
/// Started with posix_spawn rather than Foundation's `Process` so that exactly these
/// descriptors, and no other, reach the worker (a descriptor the guardian inherited, such as
/// the pipe its own parent watches for its exit, must not outlive the guardian in the worker).
package final class WorkerProcess {
    /// The exit status with which a worker says the database vanished: it is not restarted.
    package static let databaseVanishedStatus: Int32 = 3

    let pid: pid_t
    private let toWorker: Int32

    init(executable: String, arguments: [String], pin: WALPin) throws(EngineError) {
        var input: [Int32] = [0, 0]
        guard cairn_pipe_cloexec(&input) == 0 else { throw EngineError.fromErrno("create a pipe for", executable, errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        // In the child: the pin's descriptors to 3 and 4 by way of numbers nothing else uses
        // (the sources may themselves be 3 or 4), then nothing else above 4.
        let (shmTarget, dbTarget) = WALPin.childDescriptors
        posix_spawn_file_actions_adddup2(&actions, pin.shmDescriptor, 1000)
        posix_spawn_file_actions_adddup2(&actions, pin.databaseDescriptor, 1001)
        posix_spawn_file_actions_adddup2(&actions, 1000, shmTarget)
        posix_spawn_file_actions_adddup2(&actions, 1001, dbTarget)
        cairn_spawn_close_from(&actions, dbTarget + 1)
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
        environment[WALPin.environmentKey] = "\(shmTarget),\(dbTarget)"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(input[0])
        guard rc == 0 else {
            close(input[1])
            throw .io(operation: "start the capture worker", path: executable, errno: rc)
        }
        pid = child
        toWorker = input[1]
    }

    deinit { close(toWorker) }

    /// How a worker ended.
    struct End {
        let status: Int32
        let killedBySignal: Bool
        var cleanExit: Bool { !killedBySignal && status == 0 }
        /// The worker stopped for good: the database is gone (restarting cannot help).
        var isFinal: Bool { !killedBySignal && status == WorkerProcess.databaseVanishedStatus }
        /// The WAL was deleted or replaced: the worker captured what it could; a new one,
        /// under a pin on the new files, carries on.
        var filesReplaced: Bool { !killedBySignal && status == WorkerProcess.filesReplacedStatus }
        var text: String { killedBySignal ? "was killed by signal \(status)" : "exited with status \(status)" }
    }

    /// The exit status of a worker whose WAL or WAL index was replaced under it.
    static let filesReplacedStatus: Int32 = 76

    /// The worker's end when it has exited, without waiting; nil while it runs.
    func poll() -> End? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        return Self.end(status)
    }

    /// Waits for the worker to exit.
    func wait() -> End {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Self.end(status)
    }

    private static func end(_ status: Int32) -> End {
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        return End(status: signaled ? status & 0x7f : (status >> 8) & 0xff, killedBySignal: signaled)
    }
}
