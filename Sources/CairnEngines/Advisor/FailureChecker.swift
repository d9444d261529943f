import Foundation
import CairnFormats
import CairnCatalog

/// One checker of the recovery advisor: it looks at one kind of thing (the control-file
/// copies, the online log members, …) and reports what is wrong now as findings, each with a
/// key that stays the same while the same thing stays wrong. For a failure it found, it says
/// how to repair it: manual steps, and at most one automatic repair, checked against what is
/// available now.
///
/// Checkers are cheap: they read the control file, `stat` files and read small headers, never
/// the database's pages nor whole logs or backups (`cairn validate` does that).
protocol FailureChecker: Sendable {
    /// The `checker` field of the failures it reports.
    var name: String { get }
    /// What is wrong now.
    func findings(_ ctx: AdvisorContext) -> [FailureFinding]
    /// How `failure` (one of this checker's) can be repaired, as things are now.
    func options(for failure: Failure, _ ctx: AdvisorContext) -> RepairOptions
}

/// How a failure can be repaired.
package struct RepairOptions: Sendable, Encodable {
    /// Sentences, each naming the exact `cairn` commands to run.
    package var manual: [String]
    /// The repair `cairn repair` runs, when one is possible now.
    package var automatic: AutomaticRepair?
    /// Why there is no automatic repair (nil when there is one).
    package var noAutomatic: String?

    init(manual: [String], automatic: AutomaticRepair? = nil, noAutomatic: String? = nil) {
        self.manual = manual
        self.automatic = automatic
        self.noAutomatic = automatic == nil ? (noAutomatic ?? "no automatic repair exists for this failure; follow the manual steps") : nil
    }

    /// Manual steps only, saying why.
    static func manualOnly(_ steps: [String], because why: String) -> RepairOptions {
        RepairOptions(manual: steps, automatic: nil, noAutomatic: why)
    }
}

/// An automatic repair: what it is, what it will use (checked to be there now), and the
/// step that carries it out and says what it did.
package struct AutomaticRepair: Sendable, Encodable {
    /// Short name of the kind of repair ("level-0 backup", "rewrite control-file copy", …).
    package let action: String
    /// What it will do, naming what it uses (a backup id, log sequences, a source file).
    package let description: String
    /// Repairs with the same identity do the same thing (one level-0 backup serves every
    /// failure that asks for one): `repair` runs each at most once.
    let identity: String
    let run: @Sendable () throws(EngineError) -> String

    init(action: String, description: String, identity: String? = nil, run: @escaping @Sendable () throws(EngineError) -> String) {
        self.action = action
        self.description = description
        self.identity = identity ?? action + "\u{0}" + description
        self.run = run
    }

    private enum CodingKeys: String, CodingKey { case action, description }
}

/// What every checker of one advisor run sees: the database, its control file read once,
/// the time, and facts several checkers need.
struct AdvisorContext {
    let catalog: Catalog
    let control: ControlFile
    let now: Date
    /// Whether a capture process holds the capture lock now.
    let captureRunning: Bool
    /// What the retention policy no longer needs, and its floor.
    let obsolescence: ObsolescenceReport
    let lineage: LineagePath

    init(catalog: Catalog, now: Date) {
        self.catalog = catalog
        control = catalog.control
        self.now = now
        captureRunning = CaptureLock.isHeld(path: catalog.layout.captureLockFile)
        obsolescence = Obsolescence.compute(control, now: now)
        lineage = LineagePath(control, to: control.incarnation)
    }

    var db: String { catalog.databasePath }

    /// True when `scn` of `incarnation` is on the current incarnation's lineage.
    func onLineage(scn: UInt64, incarnation: Int) -> Bool { lineage.position(scn: scn, incarnation: incarnation) != nil }

    /// Backups of the database a recovery can start from, on the current lineage.
    var restorable: [BackupRecord] {
        control.restorableBackups.filter { control.chain(of: $0) != nil && onLineage(scn: $0.scn, incarnation: $0.incarnation) }
    }

    /// The newest AVAILABLE level-0 backup on the current lineage.
    var newestLevel0: BackupRecord? { restorable.filter { $0.level == 0 }.max { ($0.scn, $0.id) < ($1.scn, $1.id) } }

    /// The newest backup (any level, its chain intact) a complete recovery can start from.
    var newestRestorable: BackupRecord? { restorable.max { ($0.scn, $0.id) < ($1.scn, $1.id) } }

    /// True when the retention policy still needs what lies at `scn` (it is at or after the
    /// oldest backup kept, or there is no policy or no backup yet).
    func inRecoveryWindow(scn: UInt64, incarnation: Int) -> Bool {
        guard onLineage(scn: scn, incarnation: incarnation) else { return false }
        guard let floorScn = obsolescence.floorScn, let floorInc = obsolescence.floorIncarnation,
              let floor = lineage.position(scn: floorScn, incarnation: floorInc),
              let here = lineage.position(scn: scn, incarnation: incarnation) else { return true }
        return !(here < floor)
    }
}

/// Every checker, in the order their findings are listed.
enum Checkers {
    static let all: [any FailureChecker] = [
        DatabaseChecker(), CaptureChecker(), ControlCopiesChecker(), OnlineLogsChecker(), ArchiveDestinationsChecker(),
        ArchivedLogsChecker(), GapsChecker(), BackupsChecker(), RecoveryAreaChecker(), LivePagesChecker(), LogicalIntegrityChecker(),
    ]

    static func named(_ name: String) -> (any FailureChecker)? { all.first { $0.name == name } }
}
