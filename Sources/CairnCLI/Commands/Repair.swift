import ArgumentParser

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Repair what the recovery advisor found, or damaged pages of the live database.",
        subcommands: [RepairPages.self])
}
