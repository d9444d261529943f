import CairnFormats

extension ChangedPageRows {
    /// The pages holding rows of a table whose overflow chains include a page of `unexplained`
    /// (a row overwritten in place: same size, the page holding its cell unchanged). With
    /// auto-vacuum the pointer map names them; otherwise every page holding rows of a table of
    /// both versions is read, with its overflow chains, until all are found.
    func overflowOwners(in v: VersionPages, unexplained: Set<UInt32>, skipping done: Set<UInt32>) throws(EngineError) -> Set<UInt32> {
        guard !unexplained.isEmpty else { return [] }
        let buffer = v.source.allocatePage()
        defer { buffer.deallocate() }
        var found: Set<UInt32> = []
        if v.source.autovacuum {
            for p in unexplained {
                if let parent = try v.overflowParent(p, buffer), v.rowTable(parent) != nil { found.insert(parent) }
            }
            return found
        }
        var missing = unexplained
        var payloads = PayloadReader(source: v.source)
        payloads.tracking = true
        defer { payloads.release() }
        var pgno: UInt32 = 1
        while !missing.isEmpty, pgno <= v.source.pageCount {
            defer { pgno += 1 }
            guard !done.contains(pgno), let key = v.rowTable(pgno), before.tables[key] != nil, after.tables[key] != nil else { continue }
            try v.source.read(pgno, buffer)
            let page = try BTreePage(pgno: pgno, base: buffer, source: v.source)
            payloads.resetSeen()
            for i in 0..<page.cellCount where page.kind != .tableInterior { try payloads.visitChain(try page.cell(i, v.source), on: page) }
            guard !payloads.seen.isDisjoint(with: missing) else { continue }
            found.insert(pgno)
            missing.subtract(payloads.seen)
        }
        return found
    }
}
