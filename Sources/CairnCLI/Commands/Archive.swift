import ArgumentParser
import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture committed transactions into the online logs and archive closed logs.")

    @OptionGroup var db: DatabaseOptions

    @Flag(help: "Run until SIGINT/SIGTERM, capturing every commit as it happens; a clean stop archives everything committed.")
    var follow = false

    @Flag(help: "Capture and archive what is committed now, then exit.")
    var once = false

    @Flag(help: "Print the result as JSON (--once).")
    var json = false

    @Flag(help: .hidden)
    var worker = false

    @Flag(help: .hidden)
    var drain = false

    @Flag(name: .customLong("no-guardian"), help: "Capture in this process only (no guardian process holding a second pin on the WAL).")
    var noGuardian = false

    func run() throws {
        var workerStatus: Int32 = 0
        try reporting { () throws(EngineError) in
            guard follow != once else { throw .invalidArgument("Choose one of --follow or --once.") }
            let p = try db.open()
            let say: (String) -> Void = { line in try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8)) }
            if follow && !worker && !noGuardian {
                // This process guards the WAL; a worker process captures and archives.
                CaptureSignals.install()
                try p.requireArchiveLog()
                let guardian = try CaptureGuardian(databasePath: p.databasePath, logger: Logger(label: "cairn"))
                guardian.say = say
                guardian.captureLockFile = p.layout.captureLockFile
                var args = ["archive", p.databasePath, "--follow", "--worker", "--repo", p.layout.root]
                if json { args.append("--json") }
                // A worker that stopped for good already said why on standard error.
                workerStatus = try guardian.run(executable: CommandLine.executablePath, arguments: args, drainArgument: "--drain")
                return
            }
            if follow {
                CaptureSignals.install()
                let service = CaptureRunner(database: p, logger: Logger(label: "cairn"))
                service.say = say
                if worker {
                    service.guardian = GuardianLink()
                    service.inheritPinFromGuardian()
                }
                service.drainOnly = drain
                try service.run()
                return
            }
            let r = try p.archiveOnce()
            if json { Output.json(r); return }
            print("captured \(r.captured) transaction(s); SCN \(r.scn), archived through SCN \(r.archivedScn), \(r.copies) log cop(ies) made")
            for f in r.failures { print("warning: \(f)") }
        }
        if workerStatus != 0 { throw ExitCode(workerStatus) }
    }
}
