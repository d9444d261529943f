import Foundation
import CairnFormats
import CairnCatalog

/// A point of the database's past: a transaction, a time, or a restore point.
package enum PointInTime: Sendable, Equatable {
    case scn(UInt64)
    case time(Date)
    case restorePoint(String)

    /// An SCN (digits), an ISO 8601 time, or else a restore point's name.
    package static func parse(_ text: String) -> PointInTime {
        if let n = UInt64(text) { return .scn(n) }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return .time(d) }
        return .restorePoint(text)
    }
}

extension Catalog {
    /// The SCN a point names on the lineage of `incarnation` (nil: the current one).
    package func scn(of point: PointInTime, incarnation: Int? = nil) throws(EngineError) -> UInt64 {
        try locate(point, incarnation: incarnation).scn
    }

    /// The SCN a point names, and the incarnation whose lineage it is on: `incarnation` when
    /// given; for a restore point left on an abandoned branch, its own; else nil (the current).
    package func locate(_ point: PointInTime, incarnation: Int? = nil) throws(EngineError) -> (scn: UInt64, incarnation: Int?) {
        switch point {
        case .scn(let n): return (n, incarnation)
        case .time(let t):
            var engine = RecoveryEngine(database: self, logger: logger)
            try engine.follow(incarnation: incarnation)
            return (try engine.scnAt(time: t), incarnation)
        case .restorePoint(let name):
            let p = try restorePointLocation(name)
            return (p.scn, incarnation ?? p.incarnation)
        }
    }
}
