import CSQLite
import CairnFormats

/// How an export reads one table's rows, and how a SQL script inserts them again: the columns
/// that hold data (generated columns are computed again by the new database), and the rowid,
/// given explicitly where no INTEGER PRIMARY KEY column carries it, so it is kept.
struct TableScan {
    let table: String
    /// The query that reads the rows.
    let select: String
    /// For a SQL script: `INSERT INTO "t"(rowid,"a","b") VALUES(`, with the columns in the
    /// query's order (none listed where the query is `SELECT *`).
    let insertPrefix: [UInt8]

    /// Every column SQLite shows (`SELECT *`: generated ones too, no rowid), for CSV and JSON Lines.
    static func visible(_ table: String) -> TableScan {
        let q = SQLName.quoted(table)
        return TableScan(table: table, select: "SELECT * FROM \(q)", insertPrefix: Array("INSERT INTO \(q) VALUES(".utf8))
    }

    /// The stored columns and the rowid, for a SQL script that rebuilds the table as it is.
    static func stored(_ table: String, withoutRowid: Bool, from source: ExportSource) throws(EngineError) -> TableScan {
        let q = SQLName.quoted(table)
        // cid, name, type, notnull, dflt_value, pk, hidden (2, 3: generated)
        let columns = try source.texts("PRAGMA table_xinfo(\(SQLText.literal(table)))").map { r in
            (name: r[1] ?? "", type: (r[2] ?? "").uppercased(), pk: r[5] ?? "0", hidden: r[6] ?? "0")
        }
        let generated = columns.contains { $0.hidden != "0" }
        let rowid = withoutRowid ? nil : try explicitRowid(q, columns.map { ($0.name, $0.type, $0.pk) }, source)
        guard generated || rowid != nil else { return visible(table) }
        let names = (rowid.map { [$0] } ?? []) + columns.filter { $0.hidden == "0" }.map { SQLName.quoted($0.name) }
        let list = names.joined(separator: ",")
        return TableScan(table: table, select: "SELECT \(list) FROM \(q)", insertPrefix: Array("INSERT INTO \(q)(\(list)) VALUES(".utf8))
    }

    /// The name under which the rowid of rowid table `q` is read and inserted ("rowid", else
    /// "oid" or "_rowid_" when a column has that name), or nil when an INTEGER PRIMARY KEY column
    /// already carries it (or columns have all three names, and it cannot be given).
    private static func explicitRowid(_ q: String, _ columns: [(name: String, type: String, pk: String)], _ source: ExportSource) throws(EngineError) -> String? {
        let names = Set(columns.map { $0.name.lowercased() })
        guard let alias = ["rowid", "oid", "_rowid_"].first(where: { !names.contains($0) }) else { return nil }
        let keys = columns.filter { $0.pk != "0" }
        let keyAlias = keys.count == 1 && keys[0].type == "INTEGER" ? keys[0].name.lowercased() : nil
        // SQLite names the column the rowid comes from: the INTEGER PRIMARY KEY, or "rowid".
        let origin = try source.withStatement("SELECT \(alias) FROM \(q)") { (s: OpaquePointer) throws(EngineError) -> String? in
            sqlite3_column_origin_name(s, 0).map { String(cString: $0).lowercased() }
        }
        guard let origin else { return keyAlias == nil ? alias : nil }
        if origin != "rowid" { return nil }
        return keyAlias == "rowid" ? nil : alias
    }
}
