import ArgumentParser
import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

/// The database argument of `restore`: optional when --repo names a repository to restore
/// from alone.
struct RestoreSourceOptions: ParsableArguments {
    @Argument(help: "Path of the SQLite database (omit it, with --repo, to restore from a repository alone).")
    var database: String?

    @Option(name: .long, help: "Repository directory (default: DATABASE.cairn beside the database). Without DATABASE: restore from this repository alone, a directory or a remote s3://BUCKET/PREFIX.")
    var repo: String?

    @Option(help: "With --repo s3://…: the DBID of the database to restore, when the remote holds several (`cairn list databases --repo URL`).")
    var dbid: String?

    @OptionGroup var objectStore: ObjectStoreOptions
    @OptionGroup var encryption: EncryptionOptions

    func open() throws(EngineError) -> Catalog {
        objectStore.apply()
        guard let database else { throw Self.missingSource }
        do throws(EngineError) {
            return try Catalog.open(database: database, repository: repo, logger: Logger(label: "cairn"))
        } catch {
            if case .notRegistered = error, let repo {
                throw .invalidArgument("\(error.description)\nTo restore from the repository alone, leave out the database: `cairn restore --repo \(repo) --to PATH [target]`.")
            }
            throw error
        }
    }

    static let missingSource = EngineError.invalidArgument(
        "Give the database to restore (`cairn restore DB --to PATH`), or restore from a repository alone with `cairn restore --repo DIR --to PATH`.")
}

extension Restore {
    /// `cairn restore --repo DIR (--to PATH | --validate) [target]`: no control file, nothing
    /// written into DIR, the database's original path never touched.
    func runFromRepository(target t: RecoveryTarget) throws(EngineError) {
        db.objectStore.apply()
        guard let repo = db.repo else { throw RestoreSourceOptions.missingSource }
        if inPlace {
            throw .invalidArgument("--in-place needs the database: restoring from a repository alone writes only to --to PATH. Restore with --to, or register the database again with `cairn catalog rebuild DB --repo \(repo)`.")
        }
        let remote = RemoteRepositoryReader.isRemote(repo)
        let p: Catalog, report: CatalogRebuilder.Report, staging: String?
        if remote {
            (p, report, staging) = try Catalog.openRemoteRepository(repo, dbid: db.dbid, near: validate ? nil : to, logger: Logger(label: "cairn"))
        } else {
            (p, report) = try Catalog.openRepositoryAlone(repo, logger: Logger(label: "cairn"))
            staging = nil
        }
        defer { if let staging { Catalog.removeStaging(staging) } }
        p.lockWait = try waiting.policy()
        let source = remote ? " from the remote repository \(repo)/\(p.control.dbid) alone" : " from the repository \(p.layout.root) alone"
        if validate {
            let r = try p.validateRestore(backup: backup, monitor: TerminalProgress.monitor())
            if json { Output.json(["backup": String(r.id), "scn": String(r.scn), "result": "validated"]); return }
            print("backup \(r.id) (SCN \(r.scn)) validated from the repository alone (nothing written); every checksum verified")
            return
        }
        let r = try p.recoverDetached(to: to!, target: t, backup: backup, force: force, allowIncomplete: allowIncomplete,
                                      incarnation: incarnation, recordPoint: true, monitor: TerminalProgress.monitor())
        if json { Output.json(r); return }
        Self.report(r, source: source, place: "into \(to!)")
        for s in report.skipped { print("note: \(s)") }
    }
}
