import CairnFormats

/// A table as SQLite describes it in one schema of a connection (the live "main", or a past
/// state attached as "asof"): its columns, key and CREATE statement. Two shapes are equal
/// when rows of one fit the other unchanged (same columns, types, constraints on them, key).
struct TableShape: Equatable {
    struct Column: Equatable {
        let name: String
        let type: String
        let notNull: Bool
        /// Position in the primary key (0: not part of it).
        let pk: Int
        /// 0 stored, 2 or 3 generated (virtual or stored), 1 a virtual table's hidden column.
        let hidden: Int

        static func == (a: Column, b: Column) -> Bool {
            a.name.lowercased() == b.name.lowercased() && a.type.lowercased() == b.type.lowercased()
                && a.notNull == b.notNull && a.pk == b.pk && a.hidden == b.hidden
        }
    }

    /// The name as the schema spells it.
    let name: String
    let columns: [Column]
    let withoutRowid: Bool
    /// "table", "virtual" or "shadow".
    let kind: String
    let sql: String

    static func == (a: TableShape, b: TableShape) -> Bool {
        a.columns == b.columns && a.withoutRowid == b.withoutRowid && a.kind == b.kind
    }

    /// The columns rows store (generated ones are computed from them).
    var stored: [Column] { columns.filter { $0.hidden == 0 } }

    /// The expressions that name a row: the rowid (under a name no column shadows), or the
    /// primary key's columns in key order.
    var key: [String] {
        if withoutRowid { return columns.filter { $0.pk > 0 }.sorted { $0.pk < $1.pk }.map { SQLName.quoted($0.name) } }
        let taken = Set(columns.map { $0.name.lowercased() })
        return [["rowid", "_rowid_", "oid"].first { !taken.contains($0) } ?? "rowid"]
    }

    /// What an INSERT names: the rowid (kept, so rows keep their identity) and the stored columns.
    var insertColumns: [String] {
        (withoutRowid ? [] : key) + stored.map { SQLName.quoted($0.name) }
    }

    /// `name` in `schema`, or nil when it holds no such table (names match without regard to case).
    static func read(_ w: LiveRowWriter, schema: String, table: String) throws(EngineError) -> TableShape? {
        let listed = try w.rows("SELECT name, type, wr FROM pragma_table_list WHERE schema = ? AND name = ? COLLATE NOCASE",
                                [.text(schema), .text(table)])
        guard let row = listed.first, case .text(let name) = row[0], case .text(let kind) = row[1] else { return nil }
        guard kind != "view" else { return nil }
        let columns = try w.rows("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?, ?)", [.text(name), .text(schema)]).map { r in
            Column(name: r[0].text, type: r[1].text, notNull: r[2].int != 0, pk: r[3].int, hidden: r[4].int)
        }
        let sql = try w.rows("SELECT sql FROM \(SQLName.quoted(schema)).sqlite_schema WHERE type = 'table' AND name = ?", [.text(name)]).first?.first?.text ?? ""
        return TableShape(name: name, columns: columns, withoutRowid: row[2].int != 0, kind: kind, sql: sql)
    }

    /// The tables of `schema` this one declares foreign keys to.
    static func parents(_ w: LiveRowWriter, schema: String, table: String) throws(EngineError) -> [String] {
        try w.rows("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?, ?)", [.text(table), .text(schema)]).map(\.[0].text)
    }

    /// Every ordinary table of `schema` (not SQLite's own).
    static func tables(_ w: LiveRowWriter, schema: String) throws(EngineError) -> [String] {
        try w.rows("SELECT name FROM pragma_table_list WHERE schema = ? AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                   [.text(schema)]).map(\.[0].text)
    }
}

extension SQLiteValue {
    /// Text as a string (numbers in decimal; "" for NULL and blobs), for catalog reads.
    var text: String {
        switch self {
        case .text(let s): return s
        case .integer(let n): return String(n)
        case .real(let d): return String(d)
        case .null, .blob: return ""
        }
    }

    /// An integer (0 unless one).
    var int: Int {
        if case .integer(let n) = self { return Int(n) }
        return 0
    }
}
