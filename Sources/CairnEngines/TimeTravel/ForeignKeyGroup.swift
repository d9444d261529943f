import CairnFormats

/// Tables tied together by declared foreign keys, now or at the past point attached as
/// "asof": a table and those it references or that reference it, and so on.
struct ForeignKeyGroup {
    /// Neighbours of each table (lowercased names), both ways.
    private var links: [String: Set<String>] = [:]
    /// Names as the schemas spell them.
    private var spelled: [String: String] = [:]

    init(_ w: LiveRowWriter) throws(EngineError) {
        for schema in ["main", "asof"] {
            for table in try TableShape.tables(w, schema: schema) {
                spelled[table.lowercased()] = spelled[table.lowercased()] ?? table
                for parent in try TableShape.parents(w, schema: schema, table: table) where parent.lowercased() != table.lowercased() {
                    links[table.lowercased(), default: []].insert(parent.lowercased())
                    links[parent.lowercased(), default: []].insert(table.lowercased())
                    spelled[parent.lowercased()] = spelled[parent.lowercased()] ?? parent
                }
            }
        }
    }

    /// Every table tied to one of `tables` (directly or through others), those included.
    func related(to tables: [String]) -> [String] {
        var seen = Set(tables.map { $0.lowercased() })
        var queue = Array(seen)
        while let t = queue.popLast() {
            for n in links[t] ?? [] where !seen.contains(n) {
                seen.insert(n)
                queue.append(n)
            }
        }
        return seen.map { spelled[$0] ?? $0 }.sorted()
    }
}
