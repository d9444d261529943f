import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

extension Report {
    struct Space: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the recovery area (the repository): limit, use, what could be freed, and bytes by category.")

        @OptionGroup var db: DatabaseOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reporting { () throws(EngineError) in
                let r = try db.open().spaceReport()
                if json { Output.json(r); return }
                print("recovery area  \(r.path)")
                print("limit          \(r.limit.map(Output.bytes) ?? "unlimited")")
                print("used           \(Output.bytes(r.used))" + (r.percent.map { String(format: " (%.1f %%)", $0) } ?? ""))
                print("reclaimable    \(Output.bytes(r.reclaimable))")
                let c = r.categories
                for (name, n) in [("backups", c.backups), ("log backups", c.logBackups), ("archived logs", c.archivedLogs),
                                  ("online logs", c.onlineLogs), ("snapshots", c.snapshots), ("other", c.other)] {
                    print("  " + name.padding(toLength: 15, withPad: " ", startingAt: 0) + Output.bytes(n))
                }
                if !r.objectRequests.isEmpty {
                    print("object storage requests: " + r.objectRequests.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                }
                if let w = r.warning { print("warning: \(w)") }
            }
        }
    }
}
