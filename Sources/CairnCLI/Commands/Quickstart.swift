import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Quickstart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Protect a sample database, write to it from another process, back it up, destroy it, restore it, and prove the restore equal.")

    @Option(help: "Working directory (default: a new directory under /tmp).")
    var dir: String?

    func run() throws {
        try reporting { () throws(EngineError) in
            let ok = try QuickstartDemo(directory: dir).run { line in print(line) }
            if !ok { throw .verificationFailed(file: "quickstart", detail: "the restored database differs from the source") }
        }
    }
}
