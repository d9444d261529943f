import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import CairnAgent

/// `cairn agent [--config FILE]`: protects every database the configuration file names, from
/// one process, until SIGTERM or SIGINT (everything committed is then captured and archived);
/// SIGHUP reloads the file. `--check-config` only reads the file and prints each mistake as
/// FILE:LINE:COLUMN: message (exit 64), or a summary (exit 0).
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Protect many databases from one configuration file: capture, schedules, metrics, health, status page.",
        discussion: "See packaging/cairn.yml for a commented example. --check-config reads the file, expands ${ENV}, and names the line of each mistake.")

    @Option(help: "The configuration file.")
    var config = "/etc/cairn/cairn.yml"

    @Flag(name: .customLong("check-config"), help: "Check the configuration file and exit.")
    var checkConfig = false

    @Flag(help: "Print the mistakes as JSON (--check-config).")
    var json = false

    func run() throws {
        if checkConfig { return try check() }
        let configuration: AgentConfiguration, problems: [ConfigurationError]
        do {
            (configuration, problems) = try AgentConfiguration.loadForRunning(config)
        } catch {
            FileHandle.standardError.write(Data("cairn: error: \(error.description)\n".utf8))
            throw ExitCode(64)
        }
        AgentLogging.use(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "cairn.agent")
        let agent = AgentService(configFile: config, configuration: configuration, problems: problems, logger: logger)
        let http = AgentHTTPServer(http: configuration.http, configFile: config, source: agent, logger: logger)
        agent.reportHTTP { http.status.problem }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: agent), .init(service: http)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let failure = Blocking.run(on: AgentExecutor.shared) { try await group.run() }
        if let failure {
            FileHandle.standardError.write(Data("cairn: error: the agent stopped: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func check() throws {
        let errors = AgentConfiguration.check(file: config)
        if json {
            Output.json(errors.map { ["file": $0.file, "line": String($0.line), "column": String($0.column), "message": $0.message] })
        } else if errors.isEmpty, let c = try? AgentConfiguration.load(config) {
            print("\(config): OK, \(c.databases.count) database entr\(c.databases.count == 1 ? "y" : "ies"), \(c.databases.map(\.schedule.count).reduce(0, +)) scheduled job(s), HTTP on \(c.http.host):\(c.http.port)")
        } else {
            for e in errors { FileHandle.standardError.write(Data("\(e.description)\n".utf8)) }
        }
        if !errors.isEmpty { throw ExitCode(64) }
    }
}

/// Runs async work to its end from synchronous code (the command line's `run`).
enum Blocking {
    static func run(on executor: any TaskExecutor, _ work: @escaping @Sendable () async throws -> Void) -> (any Error)? {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        Task(executorPreference: executor) {
            do { try await work() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        return outcome.error
    }

    private final class OutcomeBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: (any Error)?
        func set(_ e: any Error) { lock.withLock { stored = e } }
        var error: (any Error)? { lock.withLock { stored } }
    }
}
