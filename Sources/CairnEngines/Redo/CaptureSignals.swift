import Foundation
import CairnFormats
import CairnCatalog

/// Requests that reach a `cairn archive --follow` process as signals: SIGINT or SIGTERM
/// (stop), SIGUSR1 (switch the log) and SIGUSR2 (a worker makes way for a new guardian). They count only in a process that installed the
/// handlers (the command line); a capture run inside an application or a test is stopped
/// through its own `StopRequest`, so one capture's stop never reaches another.
package enum CaptureSignals {
    nonisolated(unsafe) static var stop: sig_atomic_t = 0
    nonisolated(unsafe) static var switchLog: sig_atomic_t = 0
    nonisolated(unsafe) static var yield: sig_atomic_t = 0
    nonisolated(unsafe) private(set) static var installed = false

    /// Installs the handlers (the CLI calls this before `CaptureRunner.run`).
    package static func install() {
        // A parent may have started us with these signals blocked (spawned from a thread
        // that blocks them); unblock them so a stop request is never lost.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2] { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in CaptureSignals.stop = 1 }
        signal(SIGTERM) { _ in CaptureSignals.stop = 1 }
        signal(SIGUSR1) { _ in CaptureSignals.switchLog = 1 }
        signal(SIGUSR2) { _ in CaptureSignals.yield = 1 }
        // A worker whose guardian died must not be killed by writing to its pipe: it keeps
        // capturing under its own pins.
        signal(SIGPIPE, SIG_IGN)
        installed = true
    }

    /// Whether a stop signal arrived (always false where no handler is installed).
    static var stopSignalled: Bool { installed && stop != 0 }

    /// Whether a worker was asked to make way for a new guardian.
    static var yieldSignalled: Bool { installed && yield != 0 }

    /// Takes a pending SIGUSR1 (switch the log), if any.
    static func takeSwitchLog() -> Bool {
        guard installed, switchLog != 0 else { return false }
        switchLog = 0
        return true
    }
}
