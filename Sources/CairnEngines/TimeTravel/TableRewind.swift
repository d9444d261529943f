import CairnFormats

/// Puts a live table's rows back as they were at a past point attached as "asof", changing
/// only the rows that differ: those whose values differ in any way (type, bytes, or a text
/// equal only under the column's collation) are deleted, then the past rows not present are
/// inserted with their rowids. Run inside the caller's transaction; the row sets are kept in
/// temporary tables (never in the database file).
struct TableRewind {
    let shape: TableShape
    /// The attached schema holding the rows as they were.
    var past = "asof"
    /// A temporary table of keys (columns k0, k1, …): only the rows with those keys, when set.
    var only: String? = nil

    private var table: String { SQLName.quoted(shape.name) }

    /// The key and every stored value of each row of `schema`'s table, exactly compared.
    private func rows(_ schema: String) -> String {
        let keys = shape.key.enumerated().map { "\($1) AS k\($0)" }
        let values = shape.stored.map { "typeof(\(SQLName.quoted($0.name))), \(SQLName.quoted($0.name)) COLLATE BINARY" }
        let within = only.map { " WHERE \(keyTuple) IN (SELECT \(keyNames) FROM temp.\($0))" } ?? ""
        return "SELECT \((keys + values).joined(separator: ", ")) FROM \(SQLName.quoted(schema)).\(table)\(within)"
    }

    private var keyNames: String { shape.key.indices.map { "k\($0)" }.joined(separator: ", ") }
    private var keyTuple: String { "(" + shape.key.joined(separator: ", ") + ")" }

    /// The keys of the rows that differ between the live table and the past one (up to `limit`).
    func differing(_ w: LiveRowWriter, limit: Int) throws(EngineError) -> [[SQLiteValue]] {
        let live = rows("main"), then = rows(past)
        return try w.rows("SELECT \(keyNames) FROM (\(live) EXCEPT \(then)) UNION SELECT \(keyNames) FROM (\(then) EXCEPT \(live)) LIMIT \(limit)")
    }

    /// Works out the rows that differ; with `apply`, rewrites them.
    func run(_ w: LiveRowWriter, apply: Bool) throws(EngineError) -> RowCounts {
        try w.exec("DROP TABLE IF EXISTS temp.cairn_gone")
        try w.exec("DROP TABLE IF EXISTS temp.cairn_back")
        defer {
            try? w.exec("DROP TABLE IF EXISTS temp.cairn_gone")
            try? w.exec("DROP TABLE IF EXISTS temp.cairn_back")
        }
        try w.exec("CREATE TEMP TABLE cairn_gone AS SELECT \(keyNames) FROM (\(rows("main")) EXCEPT \(rows(past)))")
        try w.exec("CREATE TEMP TABLE cairn_back AS SELECT \(keyNames) FROM (\(rows(past)) EXCEPT \(rows("main")))")
        let gone = try w.count("SELECT count(*) FROM temp.cairn_gone")
        let back = try w.count("SELECT count(*) FROM temp.cairn_back")
        let both = try w.count("SELECT count(*) FROM temp.cairn_gone WHERE (\(keyNames)) IN (SELECT \(keyNames) FROM temp.cairn_back)")
        if apply {
            try w.exec("DELETE FROM main.\(table) WHERE \(keyTuple) IN (SELECT \(keyNames) FROM temp.cairn_gone)")
            let columns = shape.insertColumns.joined(separator: ", ")
            try w.exec("INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM \(SQLName.quoted(past)).\(table) WHERE \(keyTuple) IN (SELECT \(keyNames) FROM temp.cairn_back)")
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

/// The rows a change made to one table.
package struct TableRowCounts: Codable, Sendable {
    package var name: String
    package var rows: RowCounts
}
