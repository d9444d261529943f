import ArgumentParser
import CairnFormats
import CairnCatalog
import CairnEngines

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports about a protected database.", subcommands: [NeedBackup.self, Schema.self, Obsolete.self, Space.self, PDIC.self])
}
