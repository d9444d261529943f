import Foundation
import CairnFormats
import CairnCatalog

/// What `cairn undrop` did.
package struct UndropResult: Codable, Sendable {
    package var table: String
    /// The drop undone, and the name the table has now.
    package var droppedAt: UInt64
    package var createdAs: String
    package var rows: Int
    package var indexes: [String]
    package var triggers: [String]
    /// What was done differently from the original, and why.
    package var notes: [String]
}

extension Catalog {
    /// Recreates table `name` as it was just before a transaction dropped it — its columns,
    /// rows (with their rowids), indexes and triggers — as one transaction in the live database
    /// beside the application. The drop is the newest of that name unless `scn` names one
    /// (`cairn list dropped`). With `rename`, the table gets that name instead.
    package func undrop(_ name: String, scn: UInt64? = nil, rename: String? = nil) throws(EngineError) -> UndropResult {
        let drops = try droppedTables().filter { $0.name.lowercased() == name.lowercased() }
        guard let drop = scn.map({ s in drops.first { $0.scn == s } }) ?? drops.last else {
            let listed = drops.map { "SCN \($0.scn)" }.joined(separator: ", ")
            throw .invalidArgument(drops.isEmpty
                ? "No captured transaction dropped a table \(name) (see `cairn list dropped \(databasePath)`); nothing was changed."
                : "Table \(name) was not dropped at SCN \(scn!) but at \(listed); nothing was changed.")
        }
        let operation = try beginReadingStoredFiles(purpose: "undrop table \(name)")
        defer { operation.end() }
        let w = try LiveRowWriter(path: databasePath)
        try w.attach(try PointInTimePages(catalog: self, scn: drop.scn - 1, protect: false), as: "asof")
        guard let past = try TableShape.read(w, schema: "asof", table: drop.name) else {
            throw .unrecoverable("table \(drop.name) is not in the schema as of SCN \(drop.scn - 1); nothing was changed")
        }
        let target = rename ?? past.name
        return try w.transaction { () throws(EngineError) -> UndropResult in
            guard try !exists(target, w) else {
                throw .invalidArgument("\(target) exists in \(databasePath) now; undrop it under another name with --rename NEW. Nothing was changed.")
            }
            return try recreate(past, as: target, droppedAt: drop.scn, w)
        }
    }

    /// How many times `name` appears in `sql` (ignoring case; parts of longer names count too,
    /// which errs on the side of leaving a trigger out).
    static func mentions(_ sql: String, _ name: String) -> Int {
        sql.lowercased().components(separatedBy: name.lowercased()).count - 1
    }

    private func exists(_ name: String, _ w: LiveRowWriter) throws(EngineError) -> Bool {
        try w.count("SELECT count(*) FROM main.sqlite_schema WHERE name = ? COLLATE NOCASE", [.text(name)]) > 0
    }

    /// Creates the table, copies its rows, then its indexes and triggers. Under its own name
    /// (free again) everything is created as it was, then renamed if asked (SQLite rewrites the
    /// indexes' and triggers' references). When the name is taken by a newer table, the copy
    /// gets the new name and its indexes and triggers point at it; a trigger whose body names
    /// the table (by its old name, another table's now) is left out then.
    private func recreate(_ past: TableShape, as target: String, droppedAt scn: UInt64, _ w: LiveRowWriter) throws(EngineError) -> UndropResult {
        let ownNameFree = try !exists(past.name, w)
        var result = UndropResult(table: past.name, droppedAt: scn, createdAs: target, rows: 0, indexes: [], triggers: [], notes: [])
        var create = SchemaStatement(past.sql)
        if !ownNameFree, !create.rename(to: target) { throw .invalidArgument("The CREATE statement of \(past.name) could not be read: \(past.sql)") }
        try w.exec(create.sql)
        let home = ownNameFree ? past.name : target
        result.rows = try TableRewind.copy(past, into: home, w)
        let objects = try w.rows("SELECT type, name, sql FROM asof.sqlite_schema WHERE tbl_name = ? COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, rowid",
                                 [.text(past.name)])
        for o in objects {
            let (type, name) = (o[0].text, o[1].text)
            if type == "trigger" && !ownNameFree && Self.mentions(o[2].text, past.name) > 1 {
                result.notes.append("trigger \(name) not recreated: its body names \(past.name), which is another table now")
                continue
            }
            var statement = SchemaStatement(o[2].text)
            var given = name
            if try exists(name, w) {
                given = "\(name)_undropped_\(scn)"
                _ = statement.rename(to: given)
                result.notes.append("\(type) \(name) recreated as \(given): its name is taken now")
            }
            if !ownNameFree { _ = statement.retarget(to: target) }
            try w.exec(statement.sql)
            if type == "index" { result.indexes.append(given) } else { result.triggers.append(given) }
        }
        if ownNameFree && target != past.name {
            try w.exec("ALTER TABLE main.\(SQLName.quoted(past.name)) RENAME TO \(SQLName.quoted(target))")
        }
        return result
    }
}
