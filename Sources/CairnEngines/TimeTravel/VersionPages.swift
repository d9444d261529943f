import CairnFormats

/// One version of a database for `RowChanges`: its pages, its tables by lowercased name, and
/// the owner of each of its b-tree pages.
struct VersionPages {
    let source: DatabasePages
    /// The tables whose rows can be decoded, by lowercased name.
    let tables: [String: TableLayout]
    let owners: TreeOwners
    /// By index in `owners.trees`: the lowercased name of the table it is, if decodable.
    private let treeTable: [String?]

    init(_ source: DatabasePages, _ schema: DatabaseSchema) throws(EngineError) {
        self.source = source
        var tables: [String: TableLayout] = [:]
        for t in schema.tables { tables[t.name.lowercased()] = t }
        self.tables = tables
        let entries = schema.entries.filter { ($0.type == "table" || $0.type == "index") && $0.rootPage > 0 }
        owners = try TreeOwners.map(source, trees: entries.map { (name: "\($0.type) \($0.name)", root: $0.rootPage) })
        treeTable = [nil] + entries.map { e in e.type == "table" && tables[e.name.lowercased()] != nil ? e.name.lowercased() : nil }
    }

    /// The table whose rows page `pgno` holds: a leaf of a table, or an interior page of a
    /// WITHOUT ROWID table (index b-trees keep entries on interior pages too).
    func rowTable(_ pgno: UInt32) -> String? {
        guard let t = owners.tree(of: pgno), t < treeTable.count, let key = treeTable[t], let layout = tables[key] else { return nil }
        switch owners.role(of: pgno) {
        case .leaf: return key
        case .interior: return layout.withoutRowid ? key : nil
        default: return nil
        }
    }

    /// Whether page `pgno` holds cells with payloads (whose overflow chains it owns).
    func holdsPayloads(_ pgno: UInt32) -> Bool {
        owners.tree(of: pgno) != nil && (owners.role(of: pgno) == .leaf || owners.role(of: pgno) == .interior)
    }

    /// The b-tree page holding the cell whose overflow chain includes `pgno`, from the pointer
    /// map (auto-vacuum databases only); nil when the map does not say `pgno` is an overflow page.
    func overflowParent(_ pgno: UInt32, _ buffer: UnsafeMutableRawPointer) throws(EngineError) -> UInt32? {
        guard source.autovacuum else { return nil }
        var p = pgno, loaded: UInt32 = 0
        for _ in 0..<source.pageCount {
            guard p >= 3, p <= source.pageCount else { return nil }
            let perMap = UInt32(source.usable / 5 + 1)
            var map = (p - 2) / perMap * perMap + 2
            if map == UInt32((1 << 30) / source.pageSize + 1) { map += 1 }
            guard map < p else { return nil }
            if map != loaded {
                try source.read(map, buffer)
                loaded = map
            }
            let at = 5 * Int(p - map - 1)
            guard at + 5 <= source.usable else { return nil }
            let type = buffer.load(fromByteOffset: at, as: UInt8.self), parent = LE.getBE32(buffer, at + 1)
            if type == 3 { return parent }
            guard type == 4 else { return nil }
            p = parent
        }
        return nil
    }
}
