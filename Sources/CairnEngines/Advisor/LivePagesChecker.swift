import Foundation
import CairnFormats
import CairnCatalog

/// "live-pages": damaged pages of the live database. `cairn validate --live` finds them and
/// records the failures; the advisor lists them as they are (it never reads the database's
/// pages itself, so it never closes them), and their repair is page repair
/// (`repairLivePages`).
struct LivePagesChecker: FailureChecker {
    static let checkerName = "live-pages"
    var name: String { Self.checkerName }

    /// Never run by `advise`: the failures are `validate --live`'s.
    func findings(_ ctx: AdvisorContext) -> [FailureFinding] { [] }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db, catalog = ctx.catalog
        let manual = [
            "Run `cairn validate \(db) --live` to see which pages are damaged now.",
            "Rebuild them with `cairn repair pages \(db) --damaged`, or restore the whole database with `cairn restore \(db) --in-place`.",
        ]
        let plan: String
        do throws(EngineError) { plan = try catalog.repairLivePages(f, preview: true) } catch {
            return .manualOnly(manual, because: error.description)
        }
        return RepairOptions(manual: manual, automatic: AutomaticRepair(action: "repair pages", description: plan) { () throws(EngineError) -> String in
            try catalog.repairLivePages(f, preview: false)
        })
    }
}
