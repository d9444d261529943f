import CairnEngines

/// Row changes for people: per table, what was inserted (+), deleted (-) and updated (~,
/// with the columns that changed, old → new).
enum RowChangesText {
    static func lines(_ r: RowChanges, indent: String = "  ") -> [String] {
        var out: [String] = []
        for t in r.tables {
            var counts: [String] = []
            if !t.inserted.isEmpty { counts.append("\(t.inserted.count) inserted") }
            if !t.deleted.isEmpty { counts.append("\(t.deleted.count) deleted") }
            if !t.updated.isEmpty { counts.append("\(t.updated.count) updated") }
            let what = t.created ? " (created)" : t.dropped ? " (dropped)" : ""
            out.append("\(indent)\(t.name)\(what): " + (counts.isEmpty ? "no row changed" : counts.joined(separator: ", ")))
            let previous = t.previousColumns ?? t.columns
            for row in t.inserted { out.append(indent + "  + " + describe(row.values, t.columns)) }
            for row in t.deleted { out.append(indent + "  - " + describe(row.values, previous)) }
            for u in t.updated {
                let changed = zip(t.columns.indices, t.columns).compactMap { i, name -> String? in
                    let old = previous.firstIndex(of: name).flatMap { $0 < u.old.count ? u.old[$0] : nil }
                    let new = i < u.new.count ? u.new[i] : .null
                    return old == new ? nil : "\(name) \(old?.sqlLiteral ?? "(none)") → \(new.sqlLiteral)"
                }
                out.append(indent + "  ~ " + key(u.key) + ": " + changed.joined(separator: ", "))
            }
        }
        for (name, why) in r.unreadable.sorted(by: { $0.key < $1.key }) { out.append("\(indent)\(name): rows not decoded (\(why))") }
        return out
    }

    static func describe(_ values: [SQLiteValue], _ columns: [String]) -> String {
        zip(columns, values).map { "\($0)=\($1.sqlLiteral)" }.joined(separator: " ")
    }

    static func key(_ k: [SQLiteValue]) -> String { k.count == 1 ? "key \(k[0].sqlLiteral)" : "key (" + k.map(\.sqlLiteral).joined(separator: ", ") + ")" }
}
