import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and verify every byte of one backup or of all backups, or (--live) every page of the live database.",
        discussion: """
            --live reads every page of the live database (the database file and the WAL's committed frames, as one \
            consistent snapshot, without stopping the application) and compares each with the version capture recorded \
            at that SCN; it names each damaged page, the table or index it belongs to, and the hashes expected and found, \
            and records the damage as a failure (`cairn advise`, `cairn repair pages --damaged`). --logical adds SQLite's \
            integrity_check. Exit status 4 when anything is damaged.
            """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Option(help: "Backup id (default: every backup).")
    var backup: UInt64?

    @Option(help: "Validate the copies a remote repository holds (downloaded to a private directory) instead of the repository's.")
    var remote: String?

    @Flag(help: "Validate the pages of the live database instead of backups (ARCHIVELOG mode).")
    var live = false

    @Flag(help: "With --live: also run SQLite's integrity_check on a consistent snapshot.")
    var logical = false

    @Flag(help: "Print JSON: an array of results (with --live: the report).")
    var json = false

    func validate() throws {
        if logical && !live { throw ValidationError("--logical goes with --live") }
        if live && (backup != nil || remote != nil) { throw ValidationError("--live validates the live database: it takes no --backup or --remote") }
    }

    func run() throws {
        if live { return try runLive() }
        var failed = 0
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let results = try remote != nil ? p.validateRemote(remote!, backup: backup, monitor: TerminalProgress.monitor())
                : p.validate(backup: backup, monitor: TerminalProgress.monitor())
            failed = results.filter { !$0.ok }.count
            if json { Output.json(results); return }
            for r in results {
                let at = remote.map { " at \($0)" } ?? ""
                print(r.ok ? "backup \(r.id)\(at): OK" : "backup \(r.id)\(at): FAILED: \(r.error ?? "")")
            }
            print("\(results.count - failed) of \(results.count) backup(s) valid")
        }
        if failed > 0 { throw ExitCode(4) }
    }
}

extension Validate {
    func runLive() throws {
        var damaged = false
        try reporting { () throws(EngineError) in
            let p = try db.open(waiting)
            let r = try p.validateLive(logical: logical, monitor: TerminalProgress.monitor())
            damaged = !r.ok
            if json { Output.json(r); return }
            print("\(r.database) at SCN \(r.scn): \(r.pagesChecked) page(s) of \(r.pageSize) bytes read in \(String(format: "%.2f", r.seconds)) s")
            for d in r.damaged {
                print("page \(d.page) (\(d.owner ?? "owner unknown"), \(d.location)): DAMAGED, expected \(d.expectedHash), found \(d.foundHash)")
            }
            if !r.damagedWALFrames.isEmpty {
                print("WAL frame(s) failing their checksum: " + r.damagedWALFrames.map(String.init).joined(separator: ", "))
            }
            if let why = r.diverged {
                print("note: no capture was running and the database left the captured history (\(why)); the pages were compared with the state captured at SCN \(r.scn): those listed were damaged, or changed while nothing captured them")
            }
            if let problems = r.logicalProblems {
                print(problems.isEmpty ? "integrity_check: ok" : "integrity_check: " + problems.joined(separator: "\n  "))
            }
            if r.ok {
                print("every page matches its captured version")
            } else {
                let id = r.failureId.map { " (failure \($0))" } ?? ""
                print("\(r.damaged.count) damaged page(s)\(id): repair them with `cairn repair pages \(r.database) --damaged`; see `cairn advise \(r.database)`")
            }
        }
        if damaged { throw ExitCode(4) }
    }
}
