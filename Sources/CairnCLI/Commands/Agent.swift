import ArgumentParser
import Foundation
import CairnAgent

/// `cairn agent --check-config [--config FILE]`: reads the agent's configuration file and
/// prints each mistake as FILE:LINE:COLUMN: message (exit 64), or a summary (exit 0).
/// Running the agent itself (capture, schedules, metrics, status page) is not in this build.
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Protect many databases from one configuration file (this build: --check-config only).",
        discussion: "See the shape of the file in `AgentConfiguration` (README, \"The agent\"). --check-config reads it, expands ${ENV}, and names the line of each mistake.")

    @Option(help: "The configuration file.")
    var config = "/etc/cairn/cairn.yml"

    @Flag(name: .customLong("check-config"), help: "Check the configuration file and exit.")
    var checkConfig = false

    @Flag(help: "Print the mistakes as JSON.")
    var json = false

    func run() throws {
        guard checkConfig else {
            FileHandle.standardError.write(Data("cairn: error: this build of cairn can check an agent configuration (`cairn agent --check-config --config \(config)`) but not run the agent yet; protect each database with `cairn archive DB --follow` and schedule `cairn backup` meanwhile.\n".utf8))
            throw ExitCode(64)
        }
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
