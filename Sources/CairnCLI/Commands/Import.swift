import ArgumentParser
import CSystemShim
import Foundation
import CairnFormats
import CairnEngines

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a new database from a SQL script (`cairn export --format sql`, or sqlite3's .dump).",
        discussion: "The database is built under a temporary name beside --to in one transaction, without a journal, then made durable and renamed: a statement that fails is named by its line and leaves nothing behind. An existing --to is refused without --force. The new file is no more readable than the script.")

    @Argument(help: "The SQL script.")
    var script: String

    @Option(help: "The database file to create.")
    var to: String

    @Flag(help: "Replace a file that exists at --to.")
    var force = false

    @Flag(help: "Print a summary as JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(EngineError) in
            cairn_remove_on_signal_install()
            let summary = try ScriptImport.run(script: script, to: to, force: force, monitor: TerminalProgress.monitor())
            if json { return Output.json(summary) }
            print("imported \(script) into \(to): \(summary.statements) statement(s), \(summary.changes) row(s) (\(Output.bytes(summary.bytes)) of SQL)")
        }
    }
}
