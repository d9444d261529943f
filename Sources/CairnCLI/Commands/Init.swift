import ArgumentParser
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register a database: new DBID, WAL mode, repository and multiplexed control file.")

    @Argument(help: "Path of the SQLite database.")
    var database: String

    @Option(help: "Repository directory (default: DATABASE.cairn beside the database).")
    var repo: String?

    @Option(name: .customLong("control-copy"), help: "An extra control-file copy location (repeatable).")
    var controlCopies: [String] = []

    @Option(name: .customLong("log-member-dir"), help: "A directory for one member of every online log group (repeatable; default: REPO/online).")
    var memberDirs: [String] = []

    @Option(name: .customLong("log-groups"), help: "Number of online log groups (at least 2).")
    var groups: Int = 2

    @Option(name: .customLong("log-size"), help: "Page data per online log before a switch, e.g. 16M.")
    var logSize = ByteSize(bytes: 16 << 20)

    @Option(name: .customLong("archive-dest"), help: "An archive destination: a directory, or s3://BUCKET/PREFIX (endpoint and credentials from the AWS_* environment variables) (repeatable; default: REPO/archive).")
    var archiveDests: [String] = []

    @Option(name: .customLong("remote"), help: "A remote repository, s3://BUCKET/PREFIX (or a directory): every archived log, backup and catalog copy also goes there, under the DBID (repeatable).")
    var remotes: [String] = []

    @Option(name: .customLong("remote-mode"), help: "sync: the remote's archive counts toward --min-succeed; async: it is filled behind local archiving.")
    var remoteMode: RemoteRepository.Mode = .async

    @Option(name: .customLong("min-succeed"), help: "Destinations that must hold a log before it counts as archived.")
    var minSucceed: Int = 1

    @Option(name: .customLong("archive-timeout"), help: "Seconds after which a log with unarchived commits is switched and archived.")
    var archiveTimeout: Double = 10

    @Option(name: .customLong("wal-target"), help: "WAL size at which Cairn checkpoints after capture, e.g. 4M.")
    var walTarget = ByteSize(bytes: 4 << 20)

    @Flag(name: .customLong("noarchivelog"), help: "Register in NOARCHIVELOG mode (backups only, no capture).")
    var noArchiveLog = false

    @Option(help: "Permissions of every file Cairn creates for this database, in octal, e.g. 0640 (directories get x where r is set). Default: the database file's own, followed when it changes.")
    var mode: String?

    @OptionGroup var encryption: EncryptionOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var objectStore: ObjectStoreOptions

    func run() throws {
        objectStore.apply()
        try reporting { () throws(EngineError) in
            var redo = RedoOptions()
            redo.memberDirectories = memberDirs
            redo.groups = groups
            redo.logSizeBytes = logSize.bytes
            redo.walTargetBytes = walTarget.bytes
            redo.archiveDestinations = archiveDests
            // Sync remotes' archives are destinations too, added once the DBID is known.
            let syncRemotes = remoteMode == .sync ? remotes.count : 0
            redo.minSucceed = syncRemotes > 0 ? min(minSucceed, max(1, archiveDests.count)) : minSucceed
            redo.archiveTimeoutSeconds = archiveTimeout
            redo.mode = noArchiveLog ? .noarchivelog : .archivelog
            let fileMode = try mode.map { (m: String) throws(EngineError) in try FileMode.parse(m) }
            for r in remotes { if let problem = ArchiveDestinations.problem(with: r) { throw problem } }
            if minSucceed > max(1, archiveDests.count) + syncRemotes {
                throw .invalidSetting(.minSucceed, value: "\(minSucceed)", problem: "exceeds the \(max(1, archiveDests.count) + syncRemotes) archive destination(s), sync remotes included; add destinations or lower it.")
            }
            if let keyFile = encryption.keyFile { _ = try EncryptionKeyFile.read(keyFile) } // refused before anything is registered
            let p = try Catalog.initialize(database: database, repository: repo, extraControlCopies: controlCopies,
                                                     redo: redo, fileMode: fileMode, logger: Logger(label: "cairn"))
            if let keyFile = encryption.keyFile { try p.enableEncryption(keyFile: keyFile) }
            for (i, r) in remotes.enumerated() {
                try p.addRemote(r, mode: remoteMode, minSucceed: syncRemotes > 0 && i == remotes.count - 1 ? minSucceed : nil)
            }
            if !remotes.isEmpty { p.shipToRemotes(after: "the registration") }
            if json { Output.json(p.redoStatus); return }
            print("registered \(p.databasePath)")
            print("  DBID         \(p.control.dbid)")
            print("  incarnation  \(p.control.incarnation)")
            print("  repository   \(p.layout.root)")
            for c in p.control.controlCopies { print("  control file \(c)") }
            print("  mode         \(p.control.redo.mode.rawValue); \(p.control.redo.groups.count) online log groups in \(p.control.redo.memberDirectories.joined(separator: ", "))")
            print("  archive to   \(p.control.redo.archiveDestinations.joined(separator: ", ")) (min-succeed \(p.control.redo.minSucceed))")
            for r in p.remoteLag { print("  remote       \(RemoteText.line(r))") }
            print("  file mode    \(p.control.fileMode.map { "\($0) (set with --mode)" } ?? "as the database file's, now \(FileMode.of(file: p.databasePath) ?? .ownerOnly)")")
            if p.control.redo.mode == .archivelog {
                print("next: run `cairn archive \(p.databasePath) --follow` to capture every commit, and `cairn backup \(p.databasePath)`")
            }
        }
    }
}
