import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The agent's HTTP server: the status page (`/`, `/db/<id>`), `/metrics`, `/healthz` and
/// `/api/status`, read-only (GET, HEAD), answered from a fresh `AgentStatusSource` snapshot,
/// behind `Authorization: Bearer <token>` when the configuration has a token.
///
/// As a `Service` (in the agent's `ServiceGroup`), `run()` serves until the group shuts down.
/// When the address cannot be used (the port is in use, …) it does not fail: it logs the
/// `HTTPListenError`, shows it in `status` (`status.problem` is a sentence for the agent's
/// problems), and tries again after `retryDelays` (the last one repeated). `serve()` listens
/// once and throws the `HTTPListenError` instead, for a caller that handles it itself.
/// `listeningPort()` waits for the port actually bound (the configuration may say port 0).
package final class AgentHTTPServer: Service, Sendable {
    package enum Status: Sendable, Equatable {
        case notStarted
        /// Binding the address.
        case starting
        case listening(port: Int)
        /// The last attempt failed; `run()` tries again after `retryIn` (nil: `serve()` gave up).
        case cannotListen(HTTPListenError, retryIn: Duration?)
        /// Shut down, or cancelled.
        case stopped

        /// The sentence for the agent's problems while the server cannot listen.
        package var problem: String? {
            guard case .cannotListen(let error, let retry) = self else { return nil }
            return "HTTP: \(error)" + (retry.map { "; retrying every \(AgentHTTPServer.seconds($0))" } ?? "")
        }
    }

    private typealias Waiter = CheckedContinuation<Result<Int, HTTPListenError>, Never>

    private struct State {
        var status = Status.notStarted
        var waiters: [Waiter] = []
    }

    private let http: AgentConfiguration.HTTP
    private let configFile: String
    private let source: any AgentStatusSource
    private let logger: Logger
    private let retryDelays: [Duration]
    private let metrics = MetricsExporter()
    private let state = Mutex(State())

    /// A server for `http` (`http:` in `configFile`, named in messages) showing `source`'s snapshots.
    package init(http: AgentConfiguration.HTTP, configFile: String, source: any AgentStatusSource, logger: Logger,
                 retryDelays: [Duration] = [.seconds(1), .seconds(5), .seconds(15), .seconds(30)]) {
        self.http = http
        self.configFile = configFile
        self.source = source
        self.logger = logger
        self.retryDelays = retryDelays.isEmpty ? [.seconds(30)] : retryDelays
    }

    package var status: Status { state.withLock { $0.status } }

    /// The port the server listens on, once it does (waiting for the attempt under way); throws
    /// the `HTTPListenError` of an attempt that failed (or when the server stopped first).
    package func listeningPort() async throws(HTTPListenError) -> Int {
        let result = await withCheckedContinuation { (continuation: Waiter) in
            let now: Result<Int, HTTPListenError>? = state.withLock { state in
                guard let outcome = outcome(of: state.status) else {
                    state.waiters.append(continuation)
                    return nil
                }
                return outcome
            }
            if let now { continuation.resume(returning: now) }
        }
        return try result.get()
    }

    /// Serves until graceful shutdown or cancellation; never fails because it cannot listen
    /// (it logs that and retries). Its tasks (and each connection's) prefer the agent's own
    /// threads: pages are answered while other work blocks Swift's shared cooperative threads.
    package func run() async throws {
        try await withTaskExecutorPreference(AgentExecutor.shared) { try await retrying() }
    }

    private func retrying() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await listenOnce()
                failures = 0
            } catch let error as HTTPListenError {
                let delay = retryDelays[min(failures, retryDelays.count - 1)]
                failures += 1
                setStatus(.cannotListen(error, retryIn: delay))
                logger.error("\(error); trying again in \(Self.seconds(delay))")
                await pause(delay)
            } catch {
                guard !Task.isCancelled && !Task.isShuttingDownGracefully else { break }
                let stopped = HTTPListenError.from(error, host: http.host, port: http.port, configFile: configFile)
                setStatus(.cannotListen(stopped, retryIn: retryDelays[0]))
                logger.error("HTTP server on \(stopped.address) stopped: \(error); starting it again in \(Self.seconds(retryDelays[0]))")
                await pause(retryDelays[0])
            }
        }
        setStatus(.stopped)
    }

    /// Listens once and serves until graceful shutdown or cancellation; throws `HTTPListenError`
    /// when the address cannot be used.
    package func serve() async throws {
        try await withTaskExecutorPreference(AgentExecutor.shared) { try await listenOnce() }
    }

    private func listenOnce() async throws {
        setStatus(.starting)
        if !http.isLoopback && (http.token ?? "").isEmpty {
            let error = HTTPListenError(host: http.host, port: http.port, configFile: configFile, reason: .other("listening beyond loopback needs `http.token:`"))
            setStatus(.cannotListen(error, retryIn: nil))
            throw error
        }
        do {
            try await makeApplication().run()
        } catch {
            guard case .starting = status, !(error is CancellationError) else { throw error }
            let listenError = HTTPListenError.from(error, host: http.host, port: http.port, configFile: configFile)
            setStatus(.cannotListen(listenError, retryIn: nil))
            throw listenError
        }
        setStatus(.stopped)
    }

    private func makeApplication() -> some ApplicationProtocol {
        var quieter = logger
        if quieter.logLevel < .notice { quieter.logLevel = .notice }
        let router = AgentRoutes.router(source: source, token: http.token, metrics: metrics)
        return Application(router: router, configuration: ApplicationConfiguration(address: .hostname(http.host, port: http.port)),
                           onServerRunning: { [self] channel in didListen(port: channel.localAddress?.port ?? http.port) }, logger: quieter)
    }

    private func didListen(port: Int) {
        setStatus(.listening(port: port))
        Task(executorPreference: AgentExecutor.shared) { [metrics, source] in await Self.warmUp(metrics, source) }
        let url = "http://" + HTTPListenError.address(host: http.host, port: port) + "/"
        let auth = (http.token ?? "").isEmpty ? "no token" : "bearer token required"
        logger.info("HTTP: status page, /metrics and /healthz on \(url) (\(auth))")
    }

    /// Registering the series is the slow part of /metrics (swift-prometheus copies a family to
    /// add a series to it): done now, and every few seconds while databases are still starting
    /// (their first backup brings more), the first scrape is as quick as the next ones.
    private static func warmUp(_ metrics: MetricsExporter, _ source: any AgentStatusSource) async {
        let until = Date().addingTimeInterval(1800)
        while !Task.isCancelled {
            let snapshot = await source.snapshot()
            _ = metrics.bytes(snapshot)
            if !snapshot.databases.contains(where: { $0.state == .starting }) || Date() > until { return }
            try? await Task.sleep(for: .seconds(5))
        }
    }

    private func setStatus(_ status: Status) {
        let outcome = outcome(of: status)
        let waiters = state.withLock { state in
            state.status = status
            guard outcome != nil else { return [Waiter]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        if let outcome {
            for waiter in waiters { waiter.resume(returning: outcome) }
        }
    }

    /// What `listeningPort()` answers in `status` (nil: wait).
    private func outcome(of status: Status) -> Result<Int, HTTPListenError>? {
        switch status {
        case .notStarted, .starting: return nil
        case .listening(let port): return .success(port)
        case .cannotListen(let error, _): return .failure(error)
        case .stopped: return .failure(HTTPListenError(host: http.host, port: http.port, configFile: configFile, reason: .other("the server stopped before listening")))
        }
    }

    /// Sleeps `delay`, or less when the task is cancelled or shut down gracefully.
    private func pause(_ delay: Duration) async {
        _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
    }

    private static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}
