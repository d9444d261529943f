import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct ArchiveLogMode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archivelog",
        abstract: "Turn ARCHIVELOG mode on (every commit captured, the default) or off (backups only).")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var waiting: WaitOptions

    @Argument(help: "on or off")
    var state: String

    func run() throws {
        try reporting { () throws(EngineError) in
            let mode: LogMode
            switch state.lowercased() {
            case "on": mode = .archivelog
            case "off": mode = .noarchivelog
            default: throw .invalidArgument("'\(state)' is not a mode; use `cairn archivelog DB on` or `cairn archivelog DB off`.")
            }
            let p = try db.open(waiting)
            try p.setLogMode(mode)
            print("\(p.databasePath) is in \(mode.rawValue) mode" + (mode == .archivelog ? "; take a level-0 backup to start a recovery chain" : ""))
        }
    }
}
