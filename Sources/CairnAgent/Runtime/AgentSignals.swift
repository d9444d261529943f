import Foundation
import Dispatch

/// The signals the agent handles besides SIGTERM/SIGINT (swift-service-lifecycle's): SIGHUP
/// reloads the configuration; SIGUSR1, SIGUSR2 and SIGPIPE are ignored (they would otherwise end
/// the process: `cairn switch-log` signals a capture's process, which here is the agent).
/// (Unchecked: the source is only created, then cancelled once.)
final class AgentSignals: @unchecked Sendable {
    private let source: any DispatchSourceSignal

    init(onReload: @escaping @Sendable () -> Void) {
        for s in [SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE] { signal(s, SIG_IGN) }
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: onReload)
        source.resume()
    }

    func cancel() { source.cancel() }
}
