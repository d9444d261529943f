/// How the records of one table map to its columns, as SQLite itself reads its CREATE TABLE
/// statement (see `SchemaReader`).
package struct TableLayout: Sendable, Hashable, Codable {
    package let name: String
    package let rootPage: UInt32
    package let withoutRowid: Bool
    /// The columns reported for each row, in table order: every column but VIRTUAL generated
    /// ones (which no record stores).
    package let columns: [String]
    /// The primary key's columns in key order (WITHOUT ROWID tables; a rowid table's INTEGER
    /// PRIMARY KEY; empty when a rowid table has none or another one).
    package let primaryKey: [String]
    /// The index in `columns` of the INTEGER PRIMARY KEY (the rowid alias, stored as NULL).
    package let rowidAlias: Int?
    /// Record field i holds `columns[storage[i]]`: table order for rowid tables, the primary
    /// key's columns first in key order then the others for WITHOUT ROWID tables.
    package let storage: [Int]
    /// What a column holds when a record is shorter than `storage` (columns added by ALTER
    /// TABLE ADD COLUMN): its default, NULL when it has none.
    package let defaults: [SQLiteValue]
    /// The columns of REAL affinity, whose integral values a record stores as integers.
    package let realAffinity: [Bool]

    package init(name: String, rootPage: UInt32, withoutRowid: Bool, columns: [String], primaryKey: [String], rowidAlias: Int?, storage: [Int],
                 defaults: [SQLiteValue], realAffinity: [Bool]) {
        self.name = name
        self.rootPage = rootPage
        self.withoutRowid = withoutRowid
        self.columns = columns
        self.primaryKey = primaryKey
        self.rowidAlias = rowidAlias
        self.storage = storage
        self.defaults = defaults
        self.realAffinity = realAffinity
    }

    /// Whether a column declared `type` has REAL affinity (SQLite's rules, in their order:
    /// INT, then CHAR/CLOB/TEXT, then BLOB or no type, then REAL/FLOA/DOUB).
    package static func hasRealAffinity(_ type: String) -> Bool {
        let t = type.uppercased()
        if t.contains("INT") || t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("BLOB") || t.isEmpty { return false }
        return t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB")
    }

    /// The row a b-tree entry holds: key (rowid, or the primary key's values) and values.
    func row(rowid: Int64, record: [SQLiteValue]) -> TableRow {
        var values = defaults
        for (field, value) in zip(storage, record) {
            if case let .integer(i) = value, realAffinity[field] { values[field] = .real(Double(i)) } else { values[field] = value }
        }
        if let rowidAlias { values[rowidAlias] = .integer(rowid) }
        let key = withoutRowid ? storage.prefix(primaryKey.count).map { values[$0] } : [.integer(rowid)]
        return TableRow(key: key, values: values)
    }
}

/// One row of a table: its key (`[rowid]`, or the primary key's values for a WITHOUT ROWID
/// table) and its values in `TableLayout.columns` order.
package struct TableRow: Sendable, Hashable, Codable {
    package let key: [SQLiteValue]
    package let values: [SQLiteValue]

    package init(key: [SQLiteValue], values: [SQLiteValue]) {
        self.key = key
        self.values = values
    }
}
