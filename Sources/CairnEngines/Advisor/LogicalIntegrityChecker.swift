import Foundation
import CairnFormats
import CairnCatalog

/// "logical-integrity": SQLite's `integrity_check` of the live database reported problems
/// (`cairn validate --live --logical` records them). When every page is the version capture
/// recorded, the problem is in what was written and captured, so no page repair can fix it:
/// manual steps only.
struct LogicalIntegrityChecker: FailureChecker {
    static let checkerName = Catalog.logicalChecker
    var name: String { Self.checkerName }

    /// Never run by `advise`: the failures are `validate --live --logical`'s.
    func findings(_ ctx: AdvisorContext) -> [FailureFinding] { [] }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        return .manualOnly([
            "Run `cairn validate \(db) --live --logical` to see whether damaged pages explain it; if so, `cairn repair pages \(db) --damaged` and check again.",
            "Otherwise find the last sound point (`cairn restore \(db) --scn N --to /tmp/check.db`, then `sqlite3 /tmp/check.db 'PRAGMA integrity_check'`) and restore to it (`cairn restore \(db) --scn N --in-place`), or save what SQLite can read with `sqlite3 \(db) .recover`.",
        ], because: "the pages are the versions capture recorded: what was written is unsound, and only a restore to an earlier point or SQLite's .recover can help")
    }
}
