import ArgumentParser
import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog
import CairnEngines

/// `cairn capture-many DB...` (hidden, for measuring what many captures cost in one process,
/// see scripts/bench/idle.py): captures every database given, each on a thread of its own, as
/// `cairn archive DB --follow --no-guardian` captures one, until SIGINT or SIGTERM.
struct CaptureMany: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture-many", abstract: "Capture several databases in this one process (for measurements).", shouldDisplay: false)

    @Argument(help: "Paths of the registered databases.")
    var databases: [String]

    func run() throws {
        CaptureSignals.install()
        // What the agent will say at its start: the inotify limits that stand in the way.
        let directories = Set(databases.map { FileSystem.parent(of: FileSystem.resolved($0)) }).count
        for line in InotifyLimits.current(creatingHub: true).problems(directories: directories) {
            try? FileHandle.standardError.write(contentsOf: Data("warning: \(line)\n".utf8))
        }
        let failures = Mutex(0)
        let group = DispatchGroup()
        for path in databases {
            group.enter()
            let thread = Thread {
                Thread.current.name = "cairn capture"
                defer { group.leave() }
                do throws(EngineError) {
                    let runner = CaptureRunner(database: try Catalog.open(database: path), logger: Logger(label: "cairn"))
                    runner.say = { line in try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8)) }
                    try runner.run()
                } catch {
                    try? FileHandle.standardError.write(contentsOf: Data("cairn: error: \(path): \(error.description)\n".utf8))
                    failures.withLock { $0 += 1 }
                }
            }
            thread.start()
        }
        group.wait()
        if failures.withLock({ $0 }) > 0 { throw ExitCode(1) }
    }
}
