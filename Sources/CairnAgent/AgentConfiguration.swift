import Foundation
import Yams

/// The agent's configuration file (`cairn agent --config FILE`), read with `parse`:
///
///     http:
///       listen: 127.0.0.1:9187        # anything but loopback needs a token
///       token: ${CAIRN_AGENT_TOKEN}
///     log: {format: plain, level: info}
///     databases:
///       - path: /srv/app/app.db       # or: dir: /srv/tenants, pattern: "*.db"
///         repository: /srv/app/app.db.cairn
///         remotes: [s3://bucket/prefix]
///         schedule:
///           - {job: backup, level: 0, cron: "0 2 * * 0"}
///
/// Unknown keys are errors, `${NAME}` takes the environment variable NAME (unset: an error),
/// and every error names the file, line and column.
package struct AgentConfiguration: Sendable, Equatable {
    package struct HTTP: Sendable, Equatable {
        package var host = "127.0.0.1"
        package var port = 9187
        package var token: String?
        /// Only loopback may be served without a token.
        package var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) }
    }

    package enum LogFormat: String, Sendable, Equatable { case plain, json }

    package var http = HTTP()
    package var logFormat = LogFormat.plain
    package var logLevel = "info"
    package var databases: [DatabaseEntry] = []
    package var jobs = JobRunner.Settings()
    /// How often the recovery advisor's checkers look at each database (`advisor: {interval: 300}`, seconds).
    package var advisorInterval: TimeInterval = AdvisorFindings.defaultPeriod

    /// Reads the configuration in `file`.
    package static func load(_ file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: file, line: 0, column: 0, message: "cannot be read (missing, unreadable or not UTF-8)")
        }
        return try parse(text, file: file, environment: environment)
    }

    /// Parses configuration `text` (named `file` in messages).
    package static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigurationError) -> AgentConfiguration {
        var errors: [ConfigurationError] = []
        return try parse(text, file: file, environment: environment, collecting: &errors)
    }

    private static func compose(_ text: String, file: String) throws(ConfigurationError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ConfigurationError(file: file, line: 0, column: 0, message: "is empty: it needs at least `databases:`") }
            return node
        } catch let e as ConfigurationError {
            throw e
        } catch let e as YamlError {
            throw syntaxError(e, file: file)
        } catch {
            throw ConfigurationError(file: file, line: 0, column: 0, message: "is not YAML: \(error)")
        }
    }

    /// Reads `file` for running: the entries without a mistake, and the mistakes (an entry with
    /// one is left out and reported; the others run). Throws only when nothing can run: the
    /// file is missing, not YAML, or a top-level setting is wrong.
    package static func loadForRunning(_ file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> (AgentConfiguration, [ConfigurationError]) {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: file, line: 0, column: 0, message: "cannot be read (missing, unreadable or not UTF-8)")
        }
        var errors: [ConfigurationError] = []
        let root = try compose(text, file: file)
        let c = try parse(ConfigNode(node: root, path: "", file: file, environment: environment), collecting: &errors, lenient: true)
        return (c, errors)
    }

    /// Every mistake in the configuration `file` (see `check(_:file:environment:)`).
    package static func check(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [ConfigurationError] {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            return [ConfigurationError(file: file, line: 0, column: 0, message: "cannot be read (missing, unreadable or not UTF-8)")]
        }
        return check(text, file: file, environment: environment)
    }

    /// Every mistake in `text`, in file order (the first of each database entry, and of each
    /// top-level setting); empty when it is a valid configuration.
    package static func check(_ text: String, file: String, environment: [String: String] = [:]) -> [ConfigurationError] {
        var errors: [ConfigurationError] = []
        _ = try? parse(text, file: file, environment: environment, collecting: &errors)
        return errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    /// Parses, adding every mistake found to `errors` (and throwing the first at the end).
    static func parse(_ text: String, file: String, environment: [String: String], collecting errors: inout [ConfigurationError]) throws(ConfigurationError) -> AgentConfiguration {
        do throws(ConfigurationError) {
            let root = try compose(text, file: file)
            return try parse(ConfigNode(node: root, path: "", file: file, environment: environment), collecting: &errors)
        } catch {
            if !errors.contains(error) { errors.append(error) }
            throw error
        }
    }

    static func parse(_ root: ConfigNode) throws(ConfigurationError) -> AgentConfiguration {
        var errors: [ConfigurationError] = []
        return try parse(root, collecting: &errors)
    }

    static func parse(_ root: ConfigNode, collecting errors: inout [ConfigurationError], lenient: Bool = false) throws(ConfigurationError) -> AgentConfiguration {
        var c = AgentConfiguration()
        let top = try root.mapping(allowed: ["http", "log", "jobs", "advisor", "databases"])
        if let http = top["http"] { c.http = try parseHTTP(http) }
        if let jobs = top["jobs"] { c.jobs = try parseJobs(jobs) }
        if let advisor = top["advisor"], let n = try advisor.mapping(allowed: ["interval"])["interval"] { c.advisorInterval = try n.double(in: 1...86_400) }
        if let log = top["log"] {
            let keys = try log.mapping(allowed: ["format", "level"])
            if let f = keys["format"] {
                let text = try f.string()
                guard let format = LogFormat(rawValue: text) else { throw f.error("'\(text)' is not a log format (plain or json)") }
                c.logFormat = format
            }
            if let l = keys["level"] {
                let text = try l.string()
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) else { throw l.error("'\(text)' is not a log level") }
                c.logLevel = text
            }
        }
        guard let dbs = top["databases"] else { throw root.error("no `databases:` list: there is nothing to protect") }
        for item in try dbs.sequence() {
            do throws(ConfigurationError) { c.databases.append(try DatabaseEntry.parse(item)) } catch { errors.append(error) }
        }
        c.databases = dropDuplicates(c.databases, dbs, errors: &errors)
        if !lenient, let first = errors.first { throw first }
        return c
    }

    /// `jobs: {max_concurrent: 2, per_disk: 1, retries: 3, retry_delay: 60}`.
    private static func parseJobs(_ node: ConfigNode) throws(ConfigurationError) -> JobRunner.Settings {
        var j = JobRunner.Settings()
        let keys = try node.mapping(allowed: ["max_concurrent", "per_disk", "retries", "retry_delay"])
        if let n = keys["max_concurrent"] { j.maxConcurrent = try n.int(in: 1...64) }
        if let n = keys["per_disk"] { j.perDisk = try n.int(in: 1...64) }
        if let n = keys["retries"] { j.retries = try n.int(in: 0...100) }
        if let n = keys["retry_delay"] { j.retryDelay = try n.double(in: 0.1...86_400) }
        return j
    }

    private static func parseHTTP(_ node: ConfigNode) throws(ConfigurationError) -> HTTP {
        var http = HTTP()
        let keys = try node.mapping(allowed: ["listen", "token"])
        if let listen = keys["listen"] {
            let text = try listen.string()
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw listen.error("'\(text)' is not HOST:PORT (e.g. 127.0.0.1:9187)")
            }
            http.host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            http.port = port
        }
        if let token = keys["token"] { http.token = try token.string() }
        if !http.isLoopback && (http.token ?? "").isEmpty {
            throw (keys["listen"] ?? node).error("listening on \(http.host) needs `token:` (a bearer token, e.g. token: ${CAIRN_AGENT_TOKEN}); only 127.0.0.1 may be served without one")
        }
        return http
    }

    /// Two entries naming the same database file (or directory) are an error at the second,
    /// which is left out.
    private static func dropDuplicates(_ entries: [DatabaseEntry], _ node: ConfigNode, errors: inout [ConfigurationError]) -> [DatabaseEntry] {
        var seen: [String: Int] = [:]
        var kept: [DatabaseEntry] = []
        for (i, e) in entries.enumerated() {
            let key = (e.path ?? e.directory ?? "") + "|" + (e.pattern ?? "")
            if let first = seen[key] {
                errors.append(ConfigurationError(file: node.file, line: e.line, column: 1,
                                                 message: "databases[\(i)] names \(e.path ?? e.directory ?? "") again (already databases[\(first)]); one entry per database"))
                continue
            }
            seen[key] = i
            kept.append(e)
        }
        return kept
    }

    private static func syntaxError(_ e: YamlError, file: String) -> ConfigurationError {
        switch e {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _):
            return ConfigurationError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            return ConfigurationError(file: file, line: 0, column: 0, message: "not valid YAML: \(e)")
        }
    }
}
