import Foundation
import CairnFormats
import CairnCatalog

/// A table a transaction dropped, as `cairn list dropped` shows it.
package struct DroppedTable: Codable, Sendable {
    package var name: String
    /// The transaction that dropped it; the table is as it was at `scn - 1`.
    package var scn: UInt64
    package var incarnation: Int
    package var time: Date
    package var timeExact: Bool
    /// Its rows just before (nil when they could not be counted).
    package var rows: Int?
}

extension Catalog {
    /// Tables dropped by the captured transactions of the current lineage that can still be
    /// read (from the oldest backup on), oldest first. A rename is not a drop; a table dropped
    /// and created again under the same name in one transaction is not listed.
    package func droppedTables() throws(EngineError) -> [DroppedTable] {
        let operation = try beginReadingStoredFiles(purpose: "list dropped tables")
        defer { operation.end() }
        let engine = RecoveryEngine(database: self, logger: logger)
        let oldest = control.restorableBackups.filter { engine.place($0.scn, incarnation: $0.incarnation) != nil }.map(\.scn).min()
        guard let oldest else { throw .noBackups(database: databasePath) }
        var skipped: UInt64?
        let entries = try TransactionHistory(catalog: self).entries(after: oldest, through: .max, skipped: &skipped)
            .filter { $0.kind == .transaction && $0.pageNumbers.first == 1 }
        guard let first = entries.first, let last = entries.last else { return [] }
        let pages = try PointInTimePages(catalog: self, scn: first.scn - 1, through: last.scn, protect: false)
        var out: [DroppedTable] = []
        for e in entries where try schemaCookie(pages, at: e.scn - 1) != schemaCookie(pages, at: e.scn) {
            let before = try SchemaRoots.read(pages, at: e.scn - 1).filter { !$0.isIndex }
            let after = try SchemaRoots.read(pages, at: e.scn).filter { !$0.isIndex }
            let names = Set(after.map { $0.name.lowercased() }), roots = Set(after.map(\.root))
            for t in before where !names.contains(t.name.lowercased()) && !roots.contains(t.root) && !t.name.hasPrefix("sqlite_") {
                out.append(DroppedTable(name: t.name, scn: e.scn, incarnation: e.incarnation, time: e.time, timeExact: e.timeExact,
                                        rows: try? rowCount(t.name, asOf: e.scn - 1)))
            }
        }
        return out
    }

    /// The schema cookie (page 1, bytes 40-43) as of `scn`: it changes with every schema change.
    private func schemaCookie(_ pages: PointInTimePages, at scn: UInt64) throws(EngineError) -> UInt32 {
        let page = UnsafeMutableRawPointer.allocate(byteCount: pages.pageSize, alignment: 16)
        defer { page.deallocate() }
        try pages.read(1, asOf: scn, into: page)
        return (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(page.load(fromByteOffset: 40 + $1, as: UInt8.self)) }
    }

    private func rowCount(_ table: String, asOf scn: UInt64) throws(EngineError) -> Int {
        let connection = try AsOfConnection(source: try PointInTimePages(catalog: self, scn: scn, protect: false), label: "\(databasePath) as of SCN \(scn)")
        defer { connection.close() }
        guard case .integer(let n)? = try connection.query("SELECT count(*) FROM \(SQLName.quoted(table))").rows.first?.first else { return 0 }
        return Int(n)
    }
}
