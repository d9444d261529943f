import CSQLite
import CairnFormats

/// What an export knows of a database's schema: sqlite_schema in its own order (the order that
/// recreates it: a view after what it reads), the text encoding, the two header numbers an
/// application sets, and which tables are the shadow tables of virtual tables.
struct ExportSchema {
    struct Entry {
        let type: String
        let name: String
        let table: String
        let sql: String?
        /// A virtual table (its row in sqlite_schema has no root page).
        let isVirtual: Bool
    }

    let entries: [Entry]
    /// "UTF-8", "UTF-16le" or "UTF-16be".
    let encoding: String
    let userVersion: Int64
    let applicationID: Int64
    /// Tables SQLite reports as a virtual table's shadow tables (empty where it cannot tell).
    let shadows: Set<String>
    /// Tables SQLite reports as WITHOUT ROWID (nil where it cannot tell: before 3.37).
    let withoutRowidTables: Set<String>?

    static func read(_ source: ExportSource) throws(EngineError) -> ExportSchema {
        let rows = try source.texts("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema ORDER BY rowid")
        let entries = rows.map { r in
            Entry(type: r[0] ?? "", name: r[1] ?? "", table: r[2] ?? "", sql: r[4], isVirtual: r[0] == "table" && r[3] == "0")
        }
        // schema, name, type, ncol, wr, strict
        let listed = (try? source.texts("PRAGMA table_list"))?.filter { $0.count >= 5 && $0[0] == "main" }
        let shadows = Set((listed ?? []).filter { $0[2] == "shadow" }.compactMap { $0[1] })
        let withoutRowid = listed.map { Set($0.filter { $0[4] == "1" }.compactMap { $0[1] }) }
        return ExportSchema(entries: entries, encoding: try source.texts("PRAGMA encoding").first?.first.flatMap { $0 } ?? "UTF-8",
                            userVersion: try source.integer("PRAGMA user_version"),
                            applicationID: try source.integer("PRAGMA application_id"), shadows: shadows,
                            withoutRowidTables: withoutRowid)
    }

    /// Whether `table` is a WITHOUT ROWID table (where SQLite cannot say, as its CREATE reads).
    func withoutRowid(_ table: Entry) -> Bool {
        if let withoutRowidTables { return withoutRowidTables.contains(table.name) }
        let words = (table.sql ?? "").uppercased().split(whereSeparator: { !$0.isLetter })
        return zip(words, words.dropFirst()).contains { $0 == "WITHOUT" && $1 == "ROWID" }
    }

    /// The tables an export can name: every table but SQLite's own (sqlite_sequence, sqlite_stat1…).
    var tables: [Entry] {
        entries.filter { $0.type == "table" && !$0.name.lowercased().hasPrefix("sqlite_") }
    }

    /// The tables of `requested` (names as SQLite matches them, ignoring case) in schema order;
    /// every table when none is named. With `shadows`, a virtual table brings its shadow tables
    /// (a SQL script rebuilds it from them); without, shadow tables are left out unless named.
    /// A name that is no table is refused, naming the ones there are.
    func select(_ requested: [String], shadows withShadows: Bool, in label: String) throws(EngineError) -> [Entry] {
        let all = tables
        guard !requested.isEmpty else { return withShadows ? all : all.filter { !shadows.contains($0.name) } }
        var chosen = Set<String>()
        for name in requested {
            guard let t = all.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                let names = all.map(\.name)
                let list = names.isEmpty ? "it has no tables" : "its tables: " + names.joined(separator: ", ")
                throw .invalidArgument("No table named '\(name)' in \(label) (\(list)). Nothing was written.")
            }
            chosen.insert(t.name)
            if t.isVirtual && withShadows {
                for s in all where shadows.contains(s.name) && s.name.hasPrefix(t.name + "_") { chosen.insert(s.name) }
            }
        }
        return all.filter { chosen.contains($0.name) }
    }
}
