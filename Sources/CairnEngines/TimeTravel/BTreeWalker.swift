import CairnFormats

/// Walks one b-tree from its root in key order, without recursion, handing each entry (a table
/// leaf's row, or an index entry, which interior index pages hold too) to a callback as its rowid
/// and decoded record. One page buffer per depth is reused for the whole walk; a page reached
/// twice (a cycle, or a page shared by two parents) throws.
struct BTreeWalker {
    /// The rowid (table b-trees; 0 in index b-trees) and the record of one entry.
    typealias Visit = (_ rowid: Int64, _ record: [SQLiteValue]) throws(EngineError) -> Void

    /// Deeper than any b-tree SQLite builds (its cursors stop at 20 levels).
    static let maxDepth = 40

    private struct Frame {
        let page: BTreePage
        /// Interior pages: 2*i descends into cell i's child, 2*i+1 visits cell i (index pages), 2*cellCount the right child.
        var step = 0
    }

    let source: DatabasePages

    /// Visits every entry of the b-tree rooted at `root`; `what` names it in errors.
    func walk(root: UInt32, what: String, _ visit: Visit) throws(EngineError) {
        var buffers: [UnsafeMutableRawPointer] = []
        var payloads = PayloadReader(source: source)
        defer {
            buffers.forEach { $0.deallocate() }
            payloads.release()
        }
        var seen = VisitedPages(count: source.pageCount)
        var stack: [Frame] = []
        func descend(_ pgno: UInt32, from referrer: String) throws(EngineError) {
            guard seen.insert(pgno) else { throw .corrupt(file: source.name, offset: nil, detail: "\(referrer) points to page \(pgno), which \(what) reaches twice (a cycle)") }
            guard stack.count < Self.maxDepth else { throw .corrupt(file: source.name, offset: nil, detail: "\(what) is deeper than \(Self.maxDepth) levels at page \(pgno)") }
            if buffers.count == stack.count { buffers.append(source.allocatePage()) }
            try source.load(pgno, into: buffers[stack.count], from: referrer)
            stack.append(Frame(page: try BTreePage(pgno: pgno, base: buffers[stack.count], source: source)))
        }
        try descend(root, from: "the schema of \(what)")
        while var frame = stack.popLast() {
            let page = frame.page
            if page.isLeaf {
                for i in 0..<page.cellCount { try Self.entry(i, of: page, &payloads, visit) }
                continue
            }
            let step = frame.step
            frame.step += 1
            if step <= 2 * page.cellCount { stack.append(frame) } else { continue }
            let from = "page \(page.pgno)"
            if step == 2 * page.cellCount {
                try descend(page.rightChild, from: from)
            } else if step % 2 == 0 {
                try descend(try page.cell(step / 2, source).leftChild, from: from)
            } else if page.kind == .indexInterior {
                try Self.entry(step / 2, of: page, &payloads, visit)
            }
        }
    }

    /// Decodes entry `i` of `page` and hands it to `visit`.
    static func entry(_ i: Int, of page: BTreePage, _ payloads: inout PayloadReader, _ visit: Visit) throws(EngineError) {
        let source = payloads.source
        let cell = try page.cell(i, source)
        let record = try payloads.withPayload(cell, on: page) { (bytes) throws(EngineError) -> [SQLiteValue] in
            do throws(RecordDecoder.Malformed) { return try RecordDecoder.decode(bytes, encoding: source.encoding) } catch {
                throw source.corrupt(page.pgno, cell.localStart, "the record of cell \(i): \(error.detail)")
            }
        }
        try visit(cell.rowid, record)
    }
}

/// A set of page numbers 1...count as a bitmap.
struct VisitedPages {
    private var bits: [UInt64]

    init(count: UInt32) { bits = [UInt64](repeating: 0, count: Int(count) / 64 + 1) }

    /// Adds `pgno`; false when it was there already or is out of range.
    mutating func insert(_ pgno: UInt32) -> Bool {
        let i = Int(pgno) / 64, bit = UInt64(1) << UInt64(Int(pgno) % 64)
        guard i < bits.count, bits[i] & bit == 0 else { return false }
        bits[i] |= bit
        return true
    }
}
