import Foundation
import CairnFormats
import CairnCatalog

/// What `cairn log undo` did (or, previewed, would do).
package struct UndoResult: Codable, Sendable {
    package var scn: UInt64
    package var tables: [TableRowCounts]
    package var preview: Bool
}

extension Catalog {
    /// Applies the inverse of transaction `scn`'s row changes to the live database as one new
    /// transaction beside the application: rows it inserted are deleted, rows it deleted come
    /// back (with their rowids), rows it updated get their old values; triggers do not fire.
    /// Refused, listing them, when any of those rows changed since (the live row is not what
    /// the transaction left), and when the transaction changed the schema.
    package func undo(_ scn: UInt64, preview: Bool = false) throws(EngineError) -> UndoResult {
        let detail = try transaction(scn)
        try requireRowChangesOnly(detail.rows, scn: scn)
        let operation = try beginReadingStoredFiles(purpose: "undo transaction \(scn)")
        defer { operation.end() }
        let pages = try PointInTimePages(catalog: self, scn: scn - 1, through: scn, protect: false)
        let w = try LiveRowWriter(path: databasePath)
        try w.attach(PointInTimeView(pages, asOf: scn - 1), as: "cairn_before")
        try w.attach(PointInTimeView(pages, asOf: scn), as: "cairn_after")
        let tables = try w.transaction(commit: !preview) { () throws(EngineError) -> [TableRowCounts] in
            var out: [TableRowCounts] = []
            for change in detail.rows.tables {
                out.append(TableRowCounts(name: change.name, rows: try undo(change, scn: scn, w, preview: preview)))
            }
            return out
        }
        return UndoResult(scn: scn, tables: tables, preview: preview)
    }

    private func requireRowChangesOnly(_ rows: RowChanges, scn: UInt64) throws(EngineError) {
        if let (table, why) = rows.unreadable.first {
            throw .unrecoverable("the rows of \(table) changed by SCN \(scn) cannot be decoded (\(why)); nothing was changed")
        }
        for t in rows.tables where t.created || t.dropped || t.previousColumns != nil {
            let what = t.created ? "created" : t.dropped ? "dropped" : "changed the columns of"
            let instead = t.dropped ? " Bring the table back with `cairn undrop \(databasePath) \(t.name) --scn \(scn)`." : ""
            throw .invalidArgument("Transaction \(scn) \(what) table \(t.name): `log undo` undoes row changes only, not schema changes; nothing was changed.\(instead)")
        }
    }

    /// Puts back the rows of one table that transaction `scn` changed, after checking that
    /// each is still as the transaction left it.
    private func undo(_ change: TableChanges, scn: UInt64, _ w: LiveRowWriter, preview: Bool) throws(EngineError) -> RowCounts {
        guard let live = try TableShape.read(w, schema: "main", table: change.name),
              let before = try TableShape.read(w, schema: "cairn_before", table: change.name), live == before else {
            throw .invalidArgument("Table \(change.name) is not as it was at SCN \(scn) (dropped, or its columns changed since); its rows cannot be put back. See `cairn flashback table --to-table`. Nothing was changed.")
        }
        let keys = change.inserted.map(\.key) + change.deleted.map(\.key) + change.updated.map(\.key)
        try w.exec("DROP TABLE IF EXISTS temp.cairn_keys")
        defer { try? w.exec("DROP TABLE IF EXISTS temp.cairn_keys") }
        let width = live.key.count
        try w.exec("CREATE TEMP TABLE cairn_keys(\((0..<width).map { "k\($0)" }.joined(separator: ", ")))")
        let marks = Array(repeating: "?", count: width).joined(separator: ", ")
        for k in keys where k.count == width { try w.exec("INSERT INTO temp.cairn_keys VALUES (\(marks))", k) }
        let changedSince = try TableRewind(shape: live, past: "cairn_after", only: "cairn_keys").differing(w, limit: 21)
        guard changedSince.isEmpty else {
            let shown = changedSince.prefix(20).map { "(" + $0.map(\.sqlLiteral).joined(separator: ", ") + ")" }.joined(separator: ", ")
            throw .invalidArgument("\(changedSince.count > 20 ? "More than 20" : String(changedSince.count)) row(s) of \(change.name) that transaction \(scn) changed were changed again since (keys \(shown)): undoing it would overwrite those later changes. Nothing was changed; see `cairn log list \(databasePath) --table \(change.name) --since \(scn)`.")
        }
        return try TableRewind(shape: live, past: "cairn_before", only: "cairn_keys").run(w, apply: !preview)
    }
}
