import ArgumentParser
import CairnCore

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a verified backup into a new file, or in place of the live database.")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Where to write the restored database.")
    var to: String?

    @Option(help: "Backup id (default: the latest).")
    var backup: UInt64?

    @Flag(help: "Replace an existing file at --to.")
    var force = false

    @Flag(name: .customLong("in-place"), help: "Replace the live database atomically, after verification.")
    var inPlace = false

    @Flag(help: "Read and verify everything the restore needs without writing anything.")
    var validate = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try reporting { () throws(CairnError) in
            let modes = [to != nil, inPlace, validate].filter { $0 }.count
            guard modes == 1 else {
                throw .invalidArgument("Choose exactly one of --to PATH, --in-place or --validate.")
            }
            let p = try db.open()
            let r: BackupRecord
            let verb: String
            if validate {
                r = try p.validateRestore(backup: backup)
                verb = "validated (nothing written)"
            } else if inPlace {
                r = try p.restoreInPlace(backup: backup)
                verb = "restored in place into \(p.databasePath); incarnation \(p.control.incarnation) opened"
            } else {
                r = try p.restore(to: to!, backup: backup, force: force)
                verb = "restored into \(to!)"
            }
            if json {
                Output.json(["backup": String(r.id), "scn": String(r.scn), "result": verb])
                return
            }
            print("backup \(r.id) (SCN \(r.scn)) \(verb); every checksum verified")
        }
    }
}
