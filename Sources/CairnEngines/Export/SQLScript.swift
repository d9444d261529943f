import CSQLite
import CairnFormats

/// Writes one SQL script that rebuilds the database, or the tables chosen: in one transaction,
/// each table's CREATE as SQLite stored it, then its rows (rowids kept, generated columns left
/// to the new database), then sqlite_sequence's counters, the planner's statistics
/// (sqlite_stat1), and last the indexes, triggers and views (so rows go in before indexes are
/// built and without firing triggers), user_version and application_id.
///
/// Virtual tables are written the way the sqlite3 shell's `.dump` writes them: their row of
/// sqlite_schema is inserted as it is (`PRAGMA writable_schema`), and their shadow tables are
/// ordinary tables written with their rows, so an FTS index comes back exactly as it was,
/// without the module rebuilding anything. With chosen tables, only their indexes and triggers
/// come along (no views, statistics or header numbers), and a virtual table brings its shadow
/// tables.
struct SQLScript {
    let source: ExportSource
    let schema: ExportSchema
    let tables: [ExportSchema.Entry]
    /// The whole database (no table chosen).
    let whole: Bool

    func write(_ out: inout OutputBuffer, _ progress: inout ExportProgress) throws(EngineError) -> [ExportSummary.Table] {
        let values = SQLText(reals: try RealLiteral(), textAsBytes: schema.encoding != "UTF-8")
        try out.append("-- cairn export of " + Self.comment(source.label) + "\n")
        if schema.encoding != "UTF-8" { try out.append("PRAGMA encoding='\(schema.encoding)';\n") }
        try out.append("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n")
        var writableSchema = false
        var counts: [ExportSummary.Table] = []
        for t in tables {
            guard let sql = t.sql else { continue }
            if t.isVirtual {
                if !writableSchema { try out.append("PRAGMA writable_schema=ON;\n") }
                writableSchema = true
                let row = [t.type, t.name, t.table].map(SQLText.literal).joined(separator: ",")
                try out.append("INSERT INTO sqlite_master(type,name,tbl_name,rootpage,sql) VALUES(\(row),0,\(SQLText.literal(sql)));\n")
                counts.append(ExportSummary.Table(name: t.name, rows: 0, file: nil))
                continue
            }
            try out.append(sql + ";\n")
            let scan = try TableScan.stored(t.name, withoutRowid: schema.withoutRowid(t), from: source)
            let rows = try insertRows(scan, values, &out, &progress)
            counts.append(ExportSummary.Table(name: t.name, rows: rows, file: nil))
        }
        try sequences(values, &out)
        if whole { try statistics(values, &out) }
        let names = Set(tables.map(\.name))
        for e in schema.entries where ["index", "trigger", "view"].contains(e.type) {
            guard let sql = e.sql, whole || (e.type != "view" && names.contains(e.table)) else { continue }
            try out.append(sql + ";\n")
        }
        if whole && schema.userVersion != 0 { try out.append("PRAGMA user_version=\(schema.userVersion);\n") }
        if whole && schema.applicationID != 0 { try out.append("PRAGMA application_id=\(schema.applicationID);\n") }
        if writableSchema { try out.append("PRAGMA writable_schema=OFF;\n") }
        try out.append("COMMIT;\n")
        return counts
    }

    /// One INSERT a row; returns how many rows.
    private func insertRows(_ scan: TableScan, _ values: SQLText, _ out: inout OutputBuffer, _ progress: inout ExportProgress) throws(EngineError) -> Int {
        var rows = 0
        try scan.insertPrefix.withUnsafeBufferPointer { (prefix: UnsafeBufferPointer<UInt8>) throws(EngineError) in
            guard let start = prefix.baseAddress else { return }
            try source.forEachRow(scan.select) { (s: OpaquePointer) throws(EngineError) in
                try out.append(start, prefix.count)
                let n = sqlite3_column_count(s)
                for i in 0..<n {
                    if i > 0 { try out.append(UInt8(ascii: ",")) }
                    try values.value(s, i, &out)
                }
                try out.append(");\n")
                rows += 1
                try progress.update(out.total)
            }
        }
        return rows
    }

    /// sqlite_sequence's counters of the tables written (inserting rows with their rowids set
    /// them to the largest rowid; the counter may be higher).
    private func sequences(_ values: SQLText, _ out: inout OutputBuffer) throws(EngineError) {
        guard schema.entries.contains(where: { $0.type == "table" && $0.name == "sqlite_sequence" }) else { return }
        let names = Set(tables.filter { !$0.isVirtual }.map(\.name))
        try source.forEachRow("SELECT name, seq FROM sqlite_sequence") { (s: OpaquePointer) throws(EngineError) in
            guard let name = sqlite3_column_text(s, 0).map({ String(cString: $0) }), names.contains(name) else { return }
            try out.append("DELETE FROM sqlite_sequence WHERE name=\(SQLText.literal(name));\nINSERT INTO sqlite_sequence(name,seq) VALUES(")
            try values.value(s, 0, &out)
            try out.append(UInt8(ascii: ","))
            try values.value(s, 1, &out)
            try out.append(");\n")
        }
    }

    /// The planner's statistics (sqlite_stat1), as they are: `ANALYZE sqlite_schema` creates
    /// the table without analyzing anything.
    private func statistics(_ values: SQLText, _ out: inout OutputBuffer) throws(EngineError) {
        guard schema.entries.contains(where: { $0.type == "table" && $0.name == "sqlite_stat1" }) else { return }
        try out.append("ANALYZE sqlite_schema;\n")
        try source.forEachRow("SELECT tbl, idx, stat FROM sqlite_stat1") { (s: OpaquePointer) throws(EngineError) in
            try out.append("INSERT INTO sqlite_stat1(tbl,idx,stat) VALUES(")
            for i in Int32(0)..<3 {
                if i > 0 { try out.append(UInt8(ascii: ",")) }
                try values.value(s, i, &out)
            }
            try out.append(");\n")
        }
    }

    /// `text` on one comment line (control characters as '?').
    static func comment(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}
