import CSQLite
import CairnFormats

/// One row of `sqlite_schema`.
package struct SchemaEntry: Sendable, Hashable, Codable {
    package let type: String
    package let name: String
    package let tableName: String
    /// 0 for views, triggers and virtual tables.
    package let rootPage: UInt32
    package let sql: String?
}

/// The schema of one version of a database: the rows of `sqlite_schema` (read from page 1's
/// b-tree) and the layout of every table with rows, worked out by SQLite itself from each
/// CREATE TABLE statement in an in-memory database (`PRAGMA table_xinfo`, `index_list`,
/// `index_xinfo`); no SQL is parsed here.
package struct DatabaseSchema: Sendable, Codable {
    package let entries: [SchemaEntry]
    /// The tables with a b-tree (not virtual tables), by name.
    package let tables: [TableLayout]
    /// Tables whose CREATE TABLE statement SQLite refused in memory, with its message (e.g. a
    /// collation only the application defines): their rows cannot be decoded.
    package let unreadable: [String: String]

    package func table(named name: String) -> TableLayout? {
        tables.first { $0.name.lowercased() == name.lowercased() }
    }
}

package enum SchemaReader {
    /// Reads the schema of `source`.
    package static func read(_ source: DatabasePages) throws(EngineError) -> DatabaseSchema {
        let entries = try entries(source)
        let memory = try SQLiteConnection(path: ":memory:")
        defer { memory.close() }
        try memory.exec("PRAGMA writable_schema=ON")  // lets sqlite_sequence, sqlite_stat1... be created
        var tables: [TableLayout] = []
        var unreadable: [String: String] = [:]
        for e in entries where e.type == "table" && e.rootPage > 0 {
            guard let sql = e.sql else { continue }
            do {
                try memory.exec(sql)
                tables.append(try layout(of: e, in: memory))
            } catch {
                if case let .sqlite(_, _, message) = error { unreadable[e.name] = message } else { unreadable[e.name] = "\(error)" }
            }
        }
        return DatabaseSchema(entries: entries, tables: tables.sorted { $0.name < $1.name }, unreadable: unreadable)
    }

    /// The rows of `sqlite_schema` (none for an empty database).
    package static func entries(_ source: DatabasePages) throws(EngineError) -> [SchemaEntry] {
        guard source.pageCount > 0 else { return [] }
        var out: [SchemaEntry] = []
        try BTreeWalker(source: source).walk(root: 1, what: "sqlite_schema") { (_, r) throws(EngineError) in
            guard r.count >= 5, case let .text(type) = r[0], case let .text(name) = r[1], case let .text(table) = r[2] else {
                throw .corrupt(file: source.name, offset: nil, detail: "a row of sqlite_schema is not (type, name, tbl_name, rootpage, sql)")
            }
            var root: UInt32 = 0
            if case let .integer(p) = r[3], p > 0, p <= source.pageCount { root = UInt32(p) }
            var sql: String?
            if case let .text(s) = r[4] { sql = s }
            out.append(SchemaEntry(type: type, name: name, tableName: table, rootPage: root, sql: sql))
        }
        return out
    }

    /// The layout of table `e`, created in `memory`.
    private static func layout(of e: SchemaEntry, in memory: SQLiteConnection) throws(EngineError) -> TableLayout {
        let q = SQLName.quoted(e.name)
        // cid, name, type, notnull, dflt_value, pk, hidden (2: VIRTUAL generated, 3: STORED)
        let info = try memory.rows("PRAGMA table_xinfo(\(q))").filter { $0.count >= 7 && $0[6] != "2" && $0[6] != "1" }
        let columns = info.map { $0[1] ?? "" }
        let cids = info.map { Int($0[0] ?? "") ?? -1 }
        let real = info.map { TableLayout.hasRealAffinity($0[2] ?? "") }
        var defaults: [SQLiteValue] = []
        for c in info { defaults.append(c[4] == nil ? .null : evaluate(c[4] ?? "", memory)) }
        let pkIndex = try memory.rows("PRAGMA index_list(\(q))").first { $0.count >= 4 && $0[3] == "pk" }?[1] ?? nil
        // seqno, cid, name, desc, coll, key: a rowid table's indexes end with the rowid (cid -1).
        var pkInfo: [[String?]] = []
        if let pkIndex { pkInfo = try memory.rows("PRAGMA index_xinfo(\(SQLName.quoted(pkIndex)))").filter { $0.count >= 6 } }
        let withoutRowid = pkIndex != nil && !pkInfo.contains { $0[1] == "-1" }
        let pkOrder = info.filter { ($0[5] ?? "0") != "0" }.sorted { (Int($0[5] ?? "") ?? 0) < (Int($1[5] ?? "") ?? 0) }.map { $0[1] ?? "" }
        if withoutRowid {
            let stored = pkInfo.compactMap { r in Int(r[1] ?? "").flatMap { cids.firstIndex(of: $0) } }
            let keys = pkInfo.filter { $0[5] == "1" }.compactMap { $0[2] ?? nil }
            return TableLayout(name: e.name, rootPage: e.rootPage, withoutRowid: true, columns: columns, primaryKey: keys,
                               rowidAlias: nil, storage: stored, defaults: defaults, realAffinity: real)
        }
        // No index behind a one-column primary key: it is the rowid (INTEGER PRIMARY KEY).
        let alias = pkIndex == nil && pkOrder.count == 1 ? columns.firstIndex(of: pkOrder[0]) : nil
        return TableLayout(name: e.name, rootPage: e.rootPage, withoutRowid: false, columns: columns, primaryKey: alias == nil ? [] : pkOrder,
                           rowidAlias: alias, storage: Array(columns.indices), defaults: defaults, realAffinity: real)
    }

    /// A default value's SQL text (`'abc'`, `-1.5`, `X'0a'`, `1+2`) evaluated by SQLite.
    private static func evaluate(_ sql: String, _ memory: SQLiteConnection) -> SQLiteValue {
        var value = SQLiteValue.null
        // Not constant: a column added by ALTER TABLE cannot have one, so no short record needs it.
        guard !sql.uppercased().hasPrefix("CURRENT_") else { return .null }
        do {
            try memory.forEachRow("SELECT (\(sql))") { stmt in value = SQLiteValue(stmt, column: 0) }
        } catch {
            return .null
        }
        return value
    }

}
