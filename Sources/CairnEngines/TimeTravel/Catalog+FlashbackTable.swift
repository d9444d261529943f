import Foundation
import CairnFormats
import CairnCatalog

/// What `cairn flashback table` did (or, previewed, would do).
package struct TableFlashbackResult: Codable, Sendable {
    package var scn: UInt64
    package var tables: [TableRowCounts]
    /// The new table the old rows went into (`--to-table`), instead of their own.
    package var toTable: String?
    /// Tables added because declared foreign keys tie them to those named (`--cascade`).
    package var cascaded: [String]
    package var preview: Bool
}

extension Catalog {
    /// Puts the rows of `names` back as they were at `point`, as one transaction in the live
    /// database beside the application (through SQLite's write lock; capture records it as
    /// any other): only rows that differ are rewritten, indexes follow, the tables' triggers
    /// do not fire, other tables are untouched. Tables tied to them by declared foreign keys
    /// must come along: refused, naming them, unless `cascade`. With `toTable`, the rows of
    /// the one table named go into that new table instead (created with the table's columns
    /// then), the table itself untouched.
    package func flashbackTables(_ names: [String], to point: PointInTime, incarnation: Int? = nil, cascade: Bool = false,
                                 toTable: String? = nil, preview: Bool = false) throws(EngineError) -> TableFlashbackResult {
        guard !names.isEmpty else { throw .invalidArgument("Name at least one table to flash back.") }
        let (scn, lineage) = try locate(point, incarnation: incarnation)
        let operation = try beginReadingStoredFiles(purpose: "flash tables back to SCN \(scn)")
        defer { operation.end() }
        let pages = try PointInTimePages(catalog: self, scn: scn, incarnation: lineage, protect: false)
        let w = try LiveRowWriter(path: databasePath)
        try w.attach(pages, as: "asof")
        if let toTable {
            guard names.count == 1 else { throw .invalidArgument("--to-table takes the rows of one table; name one.") }
            return try copyPastTable(names[0], into: toTable, scn: scn, w, preview: preview)
        }
        var shapes = try names.map { (n: String) throws(EngineError) -> TableShape in try tableToRewind(n, scn: scn, w) }
        let related = try ForeignKeyGroup(w).related(to: shapes.map(\.name)).filter { r in !shapes.contains { $0.name.lowercased() == r.lowercased() } }
        if !related.isEmpty && !cascade {
            throw .invalidArgument("\(shapes.map(\.name).joined(separator: ", ")) \(shapes.count == 1 ? "is" : "are") tied by declared foreign keys to \(related.joined(separator: ", ")): flashing back one without the other could leave rows pointing at nothing. Name them too, or add --cascade; nothing was changed.")
        }
        for r in related { shapes.append(try tableToRewind(r, scn: scn, w)) }
        var result = TableFlashbackResult(scn: scn, tables: [], toTable: nil, cascaded: related, preview: preview)
        result.tables = try w.transaction(commit: !preview) { () throws(EngineError) -> [TableRowCounts] in
            var out: [TableRowCounts] = []
            for shape in shapes { out.append(.init(name: shape.name, rows: try TableRewind(shape: shape).run(w, apply: !preview))) }
            return out
        }
        return result
    }

    /// The table `name` as it is now, checked against what it was at `scn`: it existed then,
    /// exists now, is an ordinary table, and has the same columns.
    private func tableToRewind(_ name: String, scn: UInt64, _ w: LiveRowWriter) throws(EngineError) -> TableShape {
        guard !name.lowercased().hasPrefix("sqlite_") else {
            throw .invalidArgument("\(name) is SQLite's own table; it follows the tables it describes and cannot be flashed back by itself.")
        }
        guard let past = try TableShape.read(w, schema: "asof", table: name) else {
            let then = try TableShape.tables(w, schema: "asof")
            throw .invalidArgument("No table \(name) existed at SCN \(scn) (its tables then: \(then.isEmpty ? "none" : then.joined(separator: ", "))); nothing was changed.")
        }
        guard let now = try TableShape.read(w, schema: "main", table: name) else {
            throw .invalidArgument("Table \(past.name) does not exist now in \(databasePath): bring it back with `cairn undrop \(databasePath) \(past.name)`, or put its rows as of SCN \(scn) into a new table with --to-table NEW; nothing was changed.")
        }
        guard past.kind == "table", now.kind == "table" else {
            throw .invalidArgument("\(now.name) is a \(now.kind) table: its rows live in other tables SQLite manages; nothing was changed.")
        }
        guard past == now else {
            throw .invalidArgument("The columns of \(now.name) changed after SCN \(scn), so its old rows do not fit it; nothing was changed.\n  then: \(past.sql)\n  now:  \(now.sql)\nPut the old rows into a new table with --to-table NEW and merge them by hand.")
        }
        return now
    }

    /// `--to-table`: creates `new` with the columns `name` had at `scn` and copies its rows then.
    private func copyPastTable(_ name: String, into new: String, scn: UInt64, _ w: LiveRowWriter, preview: Bool) throws(EngineError) -> TableFlashbackResult {
        guard let past = try TableShape.read(w, schema: "asof", table: name), past.kind == "table" else {
            throw .invalidArgument("No table \(name) existed at SCN \(scn); nothing was changed.")
        }
        guard try w.count("SELECT count(*) FROM main.sqlite_schema WHERE name = ? COLLATE NOCASE", [.text(new)]) == 0 else {
            throw .invalidArgument("\(new) already exists in \(databasePath); choose another name for --to-table. Nothing was changed.")
        }
        var create = SchemaStatement(past.sql)
        guard create.rename(to: new) else { throw .invalidArgument("The CREATE statement of \(past.name) could not be read: \(past.sql)") }
        let rows = try w.transaction(commit: !preview) { () throws(EngineError) -> Int in
            try w.exec(create.sql)
            return try TableRewind.copy(past, into: new, w)
        }
        return TableFlashbackResult(scn: scn, tables: [.init(name: past.name, rows: .init(inserted: rows))], toTable: new, cascaded: [], preview: preview)
    }
}
