import Foundation
import CairnFormats
import CairnCatalog

/// One transaction with the rows it changed (`cairn log show`).
package struct TransactionDetail: Codable, Sendable {
    package var transaction: HistoryEntry
    package var rows: RowChanges
}

extension Catalog {
    /// Transaction `scn` of the current lineage with the rows it inserted, deleted and updated,
    /// decoded from the pages it wrote as they were before and after it.
    package func transaction(_ scn: UInt64) throws(EngineError) -> TransactionDetail {
        guard scn > 0 else { throw .invalidArgument("SCN 0 is the registration point, not a transaction; transactions start at SCN 1.") }
        let operation = try beginReadingStoredFiles(purpose: "show transaction \(scn)")
        defer { operation.end() }
        let history = TransactionHistory(catalog: self)
        var skipped: UInt64?
        var entries = try history.entries(after: scn - 1, through: scn, skipped: &skipped)
        guard let found = entries.first, found.scn == scn else {
            throw .invalidArgument("SCN \(scn) is not a logged transaction of \(databasePath)'s current lineage (see `cairn log list \(databasePath)`).")
        }
        guard found.kind == .transaction else {
            throw .unrecoverable("SCN \(scn) is a gap: its changes were never captured, so there is nothing to show")
        }
        let pages = try PointInTimePages(catalog: self, scn: scn - 1, through: scn, protect: false)
        try history.attribute(&entries, pages: pages, schema: SchemaRoots.read)
        let rows = try rowChanges(of: entries[0], pages: pages)
        return TransactionDetail(transaction: entries[0], rows: rows)
    }

    /// The rows transaction `entry` changed, from `pages` (indexed through it).
    func rowChanges(of entry: HistoryEntry, pages: PointInTimePages) throws(EngineError) -> RowChanges {
        let before = try pages.view(asOf: entry.scn - 1), after = try pages.view(asOf: entry.scn)
        return try RowChanges.compute(before: before, try SchemaReader.read(before), after: after, try SchemaReader.read(after),
                                      changed: Set(entry.pageNumbers))
    }
}

extension PointInTimePages {
    /// The database as of `scn` for the row decoder.
    func view(asOf scn: UInt64) throws(EngineError) -> DatabasePages {
        try DatabasePages(name: "the database as of SCN \(scn)", pageSize: pageSize, pageCount: pageCount(asOf: scn)) { (p: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            try self.read(p, asOf: scn, into: into)
        }
    }
}
