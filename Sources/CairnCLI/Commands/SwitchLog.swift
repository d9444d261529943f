import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct SwitchLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch-log", abstract: "Close the current online log so it is archived now.")

    @OptionGroup var db: DatabaseOptions

    func run() throws {
        try reporting { () throws(EngineError) in
            print(try db.open().requestLogSwitch())
        }
    }
}
