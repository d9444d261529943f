import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

/// `--wait SECONDS` and `--no-wait`: how long a command waits for a lock another Cairn
/// command on the same database holds (exit status 75 when it gives up). While it waits
/// longer than a second it says on standard error what it waits for.
struct WaitOptions: ParsableArguments {
    @Option(name: .customLong("wait"), help: ArgumentHelp(
        "Wait at most SECONDS for another Cairn command on the same database to finish with a lock this one needs (default: \(Int(LockWaitPolicy.defaultTimeout))); then give up with exit status \(ExitStatus.lockNotAcquired).",
        valueName: "SECONDS"))
    var seconds: Double?

    @Flag(name: .customLong("no-wait"), help: "Give up at once (exit status \(ExitStatus.lockNotAcquired)) instead of waiting for another Cairn command.")
    var noWait = false

    func policy() throws(EngineError) -> LockWaitPolicy {
        if noWait && seconds != nil { throw .invalidArgument("Give either --wait SECONDS or --no-wait, not both.") }
        if let s = seconds, !(s >= 0 && s.isFinite) {
            throw .invalidArgument("--wait \(s) is not a number of seconds; give 0 or more (e.g. --wait 60), or --no-wait.")
        }
        return LockWaitPolicy(timeout: noWait ? 0 : seconds ?? LockWaitPolicy.defaultTimeout) { message in
            try? FileHandle.standardError.write(contentsOf: Data("cairn: \(message)\n".utf8))
        }
    }
}

extension DatabaseOptions {
    /// Opens the database with the command's wait options.
    func open(_ waiting: WaitOptions) throws(EngineError) -> Catalog {
        let p = try open()
        p.lockWait = try waiting.policy()
        return p
    }
}
