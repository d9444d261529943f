import CairnFormats

/// The rows that differ between two versions of a database, table by table: inserted, deleted
/// and updated (old and new values). Only the pages that changed are decoded: see `compute`.
package struct RowChanges: Sendable, Codable {
    /// The tables with changes, by name.
    package let tables: [TableChanges]
    /// Tables whose rows could not be decoded in either version (their CREATE TABLE statement
    /// was refused by SQLite in memory), with why.
    package let unreadable: [String: String]

    /// Compares `before` and `after` (the same database at two points, with the same page size),
    /// given `changed`, the pages whose content differs between them (a page past the end of one
    /// version counts as changed), and each version's schema.
    ///
    /// Every b-tree of each version is descended through its interior pages to know which table
    /// owns each leaf. A table present in both versions is diffed on the pages that hold its rows
    /// in either version and either changed or changed owner; a row moved between such pages (a
    /// split, a merge) is not a change, and no row can move into a page that did not change.
    /// A changed overflow page whose cell's page did not change (SQLite overwrites a row of the
    /// same size in place) is traced back to it: through the pointer map with auto-vacuum, else
    /// by reading the tables' pages (slow, and only then). A table created or dropped between
    /// the versions is read whole: all its rows inserted, or deleted.
    package static func compute(before: DatabasePages, _ beforeSchema: DatabaseSchema, after: DatabasePages, _ afterSchema: DatabaseSchema,
                                changed: Set<UInt32>) throws(EngineError) -> RowChanges {
        guard before.pageSize == after.pageSize else {
            throw .invalidArgument("\(before.name) has \(before.pageSize)-byte pages and \(after.name) \(after.pageSize)-byte pages: they are not two versions of one database")
        }
        let b = try VersionPages(before, beforeSchema), a = try VersionPages(after, afterSchema)
        let names = Set(b.tables.keys).union(a.tables.keys)
        var selection = ChangedPageRows(before: b, after: a, changed: changed)
        try selection.decode()
        var out: [TableChanges] = []
        for key in names {
            let old = b.tables[key], new = a.tables[key]
            var change: TableChanges
            if let old, let new {
                change = TableChanges.diff(old: old, new: new, selection.rows(key, before: true), selection.rows(key, before: false))
            } else if let old {
                change = TableChanges(layout: old, previous: nil, dropped: true)
                change.deleted = try TableRows(source: before, layout: old).all().sorted { $0.key.lexicographicallyPrecedes($1.key) }
            } else if let new {
                change = TableChanges(layout: new, previous: nil, created: true)
                change.inserted = try TableRows(source: after, layout: new).all().sorted { $0.key.lexicographicallyPrecedes($1.key) }
            } else {
                continue
            }
            if !change.isEmpty { out.append(change) }
        }
        let unreadable = beforeSchema.unreadable.merging(afterSchema.unreadable) { _, new in new }
        return RowChanges(tables: out.sorted { $0.name < $1.name }, unreadable: unreadable)
    }
}

/// The changes to one table.
package struct TableChanges: Sendable, Codable {
    package let name: String
    package let withoutRowid: Bool
    /// The columns of the rows' values (of the version after; of the one before for a dropped table).
    package let columns: [String]
    /// The columns of deleted rows and of old values, when they differ from `columns` (the
    /// table's schema changed between the versions).
    package let previousColumns: [String]?
    package var created = false
    package var dropped = false
    package var inserted: [TableRow] = []
    package var deleted: [TableRow] = []
    package var updated: [RowUpdate] = []

    init(layout: TableLayout, previous: TableLayout?, created: Bool = false, dropped: Bool = false) {
        name = layout.name
        withoutRowid = layout.withoutRowid
        columns = layout.columns
        previousColumns = previous.flatMap { $0.columns == layout.columns ? nil : $0.columns }
        self.created = created
        self.dropped = dropped
    }

    var isEmpty: Bool { !created && !dropped && inserted.isEmpty && deleted.isEmpty && updated.isEmpty }

    /// The differences between the rows of the changed pages of each version (`old`: the
    /// table's layout before, `new`: after).
    static func diff(old: TableLayout, new: TableLayout, _ before: [[SQLiteValue]: [SQLiteValue]], _ after: [[SQLiteValue]: [SQLiteValue]]) -> TableChanges {
        var change = TableChanges(layout: new, previous: old)
        let common = old.columns.enumerated().compactMap { i, c in new.columns.firstIndex(of: c).map { (i, $0) } }
        for (key, values) in after {
            guard let previous = before[key] else {
                change.inserted.append(TableRow(key: key, values: values))
                continue
            }
            let same = old.columns == new.columns ? previous == values : common.allSatisfy { previous[$0.0] == values[$0.1] }
            if !same { change.updated.append(RowUpdate(key: key, old: previous, new: values)) }
        }
        for (key, values) in before where after[key] == nil { change.deleted.append(TableRow(key: key, values: values)) }
        change.inserted.sort { $0.key.lexicographicallyPrecedes($1.key) }
        change.deleted.sort { $0.key.lexicographicallyPrecedes($1.key) }
        change.updated.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return change
    }
}

/// A row whose values changed: its key, its values before and after.
package struct RowUpdate: Sendable, Hashable, Codable {
    package let key: [SQLiteValue]
    package let old: [SQLiteValue]
    package let new: [SQLiteValue]
}
