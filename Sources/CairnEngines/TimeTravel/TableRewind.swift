import CairnFormats

/// Puts a live table's rows back as they were at a past point attached as "asof", changing
/// only the rows that differ: those whose values differ in any way (type, bytes, or a text
/// equal only under the column's collation) are deleted, then the past rows not present are
/// inserted with their rowids. Run inside the caller's transaction; the row sets are kept in
/// temporary tables (never in the database file).
struct TableRewind {
    let shape: TableShape

    private var table: String { SQLName.quoted(shape.name) }

    /// The key and every stored value of each row of `schema`'s table, exactly compared.
    private func rows(_ schema: String) -> String {
        let keys = shape.key.enumerated().map { "\($1) AS k\($0)" }
        let values = shape.stored.map { "typeof(\(SQLName.quoted($0.name))), \(SQLName.quoted($0.name)) COLLATE BINARY" }
        return "SELECT \((keys + values).joined(separator: ", ")) FROM \(SQLName.quoted(schema)).\(table)"
    }

    private var keyNames: String { shape.key.indices.map { "k\($0)" }.joined(separator: ", ") }
    private var keyTuple: String { "(" + shape.key.joined(separator: ", ") + ")" }

    /// Works out the rows that differ; with `apply`, rewrites them.
    func run(_ w: LiveRowWriter, apply: Bool) throws(EngineError) -> RowCounts {
        try w.exec("DROP TABLE IF EXISTS temp.cairn_gone")
        try w.exec("DROP TABLE IF EXISTS temp.cairn_back")
        defer {
            try? w.exec("DROP TABLE IF EXISTS temp.cairn_gone")
            try? w.exec("DROP TABLE IF EXISTS temp.cairn_back")
        }
        try w.exec("CREATE TEMP TABLE cairn_gone AS SELECT \(keyNames) FROM (\(rows("main")) EXCEPT \(rows("asof")))")
        try w.exec("CREATE TEMP TABLE cairn_back AS SELECT \(keyNames) FROM (\(rows("asof")) EXCEPT \(rows("main")))")
        let gone = try w.count("SELECT count(*) FROM temp.cairn_gone")
        let back = try w.count("SELECT count(*) FROM temp.cairn_back")
        let both = try w.count("SELECT count(*) FROM temp.cairn_gone WHERE (\(keyNames)) IN (SELECT \(keyNames) FROM temp.cairn_back)")
        if apply {
            try w.exec("DELETE FROM main.\(table) WHERE \(keyTuple) IN (SELECT \(keyNames) FROM temp.cairn_gone)")
            let columns = shape.insertColumns.joined(separator: ", ")
            try w.exec("INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM asof.\(table) WHERE \(keyTuple) IN (SELECT \(keyNames) FROM temp.cairn_back)")
        }
        return RowCounts(deleted: gone - both, inserted: back - both, updated: both)
    }

    /// Copies every row of the past table into the new live table `name` (already created).
    static func copy(_ shape: TableShape, into name: String, _ w: LiveRowWriter) throws(EngineError) -> Int {
        let columns = shape.insertColumns.joined(separator: ", ")
        try w.exec("INSERT INTO main.\(SQLName.quoted(name)) (\(columns)) SELECT \(columns) FROM asof.\(SQLName.quoted(shape.name))")
        return try w.count("SELECT changes()")
    }
}

/// Rows a change removes, adds and changes.
package struct RowCounts: Codable, Sendable, Equatable {
    package var deleted = 0
    package var inserted = 0
    package var updated = 0
}
