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
    /// The SCN a point names on the current incarnation's lineage.
    package func scn(of point: PointInTime) throws(EngineError) -> UInt64 {
        switch point {
        case .scn(let n): return n
        case .time(let t): return try RecoveryEngine(database: self, logger: logger).scnAt(time: t)
        case .restorePoint(let name):
            guard case .scn(let n) = try restorePointTarget(name) else {
                throw .restorePointNotFound(name: name, database: databasePath)
            }
            return n
        }
    }
}
