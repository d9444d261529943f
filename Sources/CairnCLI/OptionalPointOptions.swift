import ArgumentParser
import Foundation
import CairnFormats
import CairnCatalog
import CairnEngines

/// `--scn`, `--time` or `--restore-point`, at most one (none: now, everything captured), and
/// `--incarnation`, for commands that copy the database as of a point (clone, snapshot).
struct OptionalPointOptions: ParsableArguments {
    @Option(help: "As of right after this SCN committed.")
    var scn: UInt64?

    @Option(help: "As of the last transaction committed at or before this time (ISO 8601).")
    var time: String?

    @Option(name: .customLong("restore-point"), help: "As of this restore point.")
    var restorePoint: String?

    @Option(help: "The point is on this incarnation's lineage; default: the current incarnation's.")
    var incarnation: Int?

    /// The point asked for (nil: none), its incarnation, and its time when the options give it.
    func resolve(_ p: Catalog) throws(EngineError) -> (target: RecoveryTarget?, incarnation: Int?, time: Date?) {
        guard [scn != nil, time != nil, restorePoint != nil].filter({ $0 }).count <= 1 else {
            throw .invalidArgument("Give at most one of --scn, --time or --restore-point.")
        }
        if let scn { return (.scn(scn), incarnation, nil) }
        if let time {
            let t = try PointOptions.time(time)
            return (.time(t), incarnation, t)
        }
        if let restorePoint {
            let at = try p.restorePointLocation(restorePoint)
            return (.scn(at.scn), incarnation ?? at.incarnation, p.control.restorePoints.first { $0.name == restorePoint }?.createdAt)
        }
        return (nil, incarnation, nil)
    }
}
