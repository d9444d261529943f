import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// The database as of `point`, read-only, for SQL: its pages come from a backup and the
    /// logs (see `PointInTimePages`); nothing is written anywhere. The connection is used by
    /// one thread at a time.
    package func openAsOf(_ point: PointInTime) throws(EngineError) -> AsOfConnection {
        let scn = try scn(of: point)
        let pages = try PointInTimePages(catalog: self, scn: scn)
        return try AsOfConnection(source: pages, label: "\(databasePath) as of SCN \(scn)")
    }
}

extension PointInTimePages: PageSource {}
