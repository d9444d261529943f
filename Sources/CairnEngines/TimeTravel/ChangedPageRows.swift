import CairnFormats

/// The rows of the pages `RowChanges` decodes in each version: the pages that hold rows of a
/// table present in both versions and that changed or changed owner, plus the pages whose cells'
/// overflow pages changed when they did not.
struct ChangedPageRows {
    typealias Rows = [String: [[SQLiteValue]: [SQLiteValue]]]
    let before: VersionPages
    let after: VersionPages
    let changed: Set<UInt32>
    private var rowsBefore: Rows = [:]
    private var rowsAfter: Rows = [:]
    private var decodedBefore: Set<UInt32> = []
    private var decodedAfter: Set<UInt32> = []

    init(before: VersionPages, after: VersionPages, changed: Set<UInt32>) {
        self.before = before
        self.after = after
        self.changed = changed
    }

    /// The rows of table `key` (lowercased name) on the decoded pages of one version, by key.
    func rows(_ key: String, before isBefore: Bool) -> [[SQLiteValue]: [SQLiteValue]] {
        (isBefore ? rowsBefore : rowsAfter)[key] ?? [:]
    }

    /// Decodes the selected pages of both versions.
    mutating func decode() throws(EngineError) {
        var pagesBefore: [UInt32] = [], pagesAfter: [UInt32] = []
        let last = max(before.source.pageCount, after.source.pageCount)
        if last > 0 {
            for p in 1...last {
                let kb = before.rowTable(p), ka = after.rowTable(p)
                guard kb != ka || changed.contains(p) else { continue }
                if let kb, after.tables[kb] != nil { pagesBefore.append(p) }
                if let ka, before.tables[ka] != nil { pagesAfter.append(p) }
            }
        }
        var seenBefore = try decode(pagesBefore, in: before, into: &rowsBefore, done: &decodedBefore)
        var seenAfter = try decode(pagesAfter, in: after, into: &rowsAfter, done: &decodedAfter)
        try seenBefore.formUnion(chains(of: before, skipping: decodedBefore))
        try seenAfter.formUnion(chains(of: after, skipping: decodedAfter))
        let extraBefore = try overflowOwners(in: before, unexplained: unexplained(before, seenBefore), skipping: decodedBefore)
        let extraAfter = try overflowOwners(in: after, unexplained: unexplained(after, seenAfter), skipping: decodedAfter)
        for p in extraBefore.union(extraAfter).sorted() {
            if let k = before.rowTable(p), after.tables[k] != nil, !decodedBefore.contains(p) {
                _ = try decode([p], in: before, into: &rowsBefore, done: &decodedBefore)
            }
            if let k = after.rowTable(p), before.tables[k] != nil, !decodedAfter.contains(p) {
                _ = try decode([p], in: after, into: &rowsAfter, done: &decodedAfter)
            }
        }
    }

    /// Decodes the rows of `pages` of version `v`; returns the overflow pages read.
    private func decode(_ pages: [UInt32], in v: VersionPages, into rows: inout Rows, done: inout Set<UInt32>) throws(EngineError) -> Set<UInt32> {
        let buffer = v.source.allocatePage()
        var payloads = PayloadReader(source: v.source)
        payloads.tracking = true
        defer {
            buffer.deallocate()
            payloads.release()
        }
        for pgno in pages {
            guard let key = v.rowTable(pgno), let layout = v.tables[key] else { continue }
            done.insert(pgno)
            try v.source.load(pgno, into: buffer, from: "table \(layout.name)")
            let page = try BTreePage(pgno: pgno, base: buffer, source: v.source)
            guard page.isLeaf == (v.owners.role(of: pgno) == .leaf), page.kind.isIndex == layout.withoutRowid else {
                throw v.source.corrupt(pgno, 0, "its parent makes it a \(v.owners.role(of: pgno) == .leaf ? "leaf" : "interior page") of table \(layout.name), but it is a \(page.kind)")
            }
            var found: [[SQLiteValue]: [SQLiteValue]] = rows[key] ?? [:]
            for i in 0..<page.cellCount where page.kind != .tableInterior {
                try BTreeWalker.entry(i, of: page, &payloads) { (rowid, record) throws(EngineError) in
                    let row = layout.row(rowid: rowid, record: record)
                    found[row.key] = row.values
                }
            }
            rows[key] = found
        }
        return payloads.seen
    }

    /// The overflow pages of the cells of the changed b-tree pages of `v` not decoded already
    /// (indexes, sqlite_schema, tables in one version only).
    private func chains(of v: VersionPages, skipping done: Set<UInt32>) throws(EngineError) -> Set<UInt32> {
        let buffer = v.source.allocatePage()
        var payloads = PayloadReader(source: v.source)
        payloads.tracking = true
        defer {
            buffer.deallocate()
            payloads.release()
        }
        for pgno in changed.sorted() where pgno <= v.source.pageCount && !done.contains(pgno) && v.holdsPayloads(pgno) {
            try v.source.read(pgno, buffer)
            let page = try BTreePage(pgno: pgno, base: buffer, source: v.source)
            for i in 0..<page.cellCount where page.kind != .tableInterior { try payloads.visitChain(try page.cell(i, v.source), on: page) }
        }
        return payloads.seen
    }

    /// Changed pages of `v` that are neither b-tree, freelist nor special pages, nor in an
    /// overflow chain read so far: overflow pages whose cell's page did not change.
    private func unexplained(_ v: VersionPages, _ seen: Set<UInt32>) -> Set<UInt32> {
        Set(changed.filter { $0 <= v.source.pageCount && v.owners.role(of: $0) == .unknown && !seen.contains($0) })
    }
}
