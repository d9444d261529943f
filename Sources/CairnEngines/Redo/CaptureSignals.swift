import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// Requests that reach a `cairn archive --follow` process as signals: SIGINT or SIGTERM
/// (stop), SIGUSR1 (switch the log) and SIGUSR2 (a worker makes way for a new guardian). They count only in a process that installed the
/// handlers (the command line); a capture run inside an application or a test is stopped
/// through its own `StopRequest`, so one capture's stop never reaches another.
package enum CaptureSignals {
    /// Set by the handlers, read and cleared by any thread. Lock-free atomics, so a handler
    /// may store to them (as it may to a `sig_atomic_t`).
    static let stop = Atomic<Bool>(false)
    static let switchLog = Atomic<Bool>(false)
    static let yield = Atomic<Bool>(false)
    private static let handlersInstalled = Atomic<Bool>(false)

    /// Whether this process installed the handlers.
    static var installed: Bool { handlersInstalled.load(ordering: .acquiring) }

    /// Installs the handlers (the CLI calls this before `CaptureRunner.run`).
    package static func install() {
        // Statics are initialised on first use, which a signal handler must not be: touch
        // the flags here, before any handler can run.
        _ = (stop.load(ordering: .relaxed), switchLog.load(ordering: .relaxed), yield.load(ordering: .relaxed))
        _ = InotifyHub.signalWakeDescriptor.load(ordering: .relaxed)
        // A parent may have started us with these signals blocked (spawned from a thread
        // that blocks them); unblock them so a stop request is never lost.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2] { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        // Each also ends the captures' waits at once (see `InotifyHub.wakeAllFromSignal`).
        signal(SIGINT) { _ in CaptureSignals.stop.store(true, ordering: .releasing); InotifyHub.wakeAllFromSignal() }
        signal(SIGTERM) { _ in CaptureSignals.stop.store(true, ordering: .releasing); InotifyHub.wakeAllFromSignal() }
        signal(SIGUSR1) { _ in CaptureSignals.switchLog.store(true, ordering: .releasing); InotifyHub.wakeAllFromSignal() }
        signal(SIGUSR2) { _ in CaptureSignals.yield.store(true, ordering: .releasing); InotifyHub.wakeAllFromSignal() }
        // A worker whose guardian died must not be killed by writing to its pipe: it keeps
        // capturing under its own pins.
        signal(SIGPIPE, SIG_IGN)
        handlersInstalled.store(true, ordering: .releasing)
    }

    /// Whether a stop signal arrived (always false where no handler is installed).
    static var stopSignalled: Bool { installed && stop.load(ordering: .acquiring) }

    /// Whether a worker was asked to make way for a new guardian.
    static var yieldSignalled: Bool { installed && yield.load(ordering: .acquiring) }

    /// Whether a SIGUSR1 (switch the log) waits, without taking it.
    static var switchRequested: Bool { installed && switchLog.load(ordering: .acquiring) }

    /// Takes a pending SIGUSR1 (switch the log), if any.
    static func takeSwitchLog() -> Bool {
        installed && switchLog.exchange(false, ordering: .acquiringAndReleasing)
    }
}
