import CairnFormats

/// Reads the payload of cells: in place when it is all on the page, else gathered from the page
/// and its chain of overflow pages into a reused buffer. Overflow chains are checked: every page
/// must be a page of the database, seen once, and the chain as long as the payload needs.
struct PayloadReader {
    let source: DatabasePages
    private let overflowPage: UnsafeMutableRawPointer
    private var gathered: [UInt8] = []
    /// The overflow pages read so far, when `tracking` (to know which changed pages they explain).
    private(set) var seen: Set<UInt32> = []
    var tracking = false

    init(source: DatabasePages) {
        self.source = source
        self.overflowPage = source.allocatePage()
    }

    /// Forgets the overflow pages read so far.
    mutating func resetSeen() { seen.removeAll(keepingCapacity: true) }

    /// Frees the overflow buffer (once, when done).
    func release() { overflowPage.deallocate() }

    /// Calls `body` with cell `cell`'s whole payload.
    mutating func withPayload<T>(_ cell: BTreePage.Cell, on page: BTreePage, _ body: (UnsafeRawBufferPointer) throws(EngineError) -> T) throws(EngineError) -> T {
        let local = UnsafeRawBufferPointer(start: page.base + cell.localStart, count: cell.localSize)
        guard cell.overflow != 0 || cell.localSize < cell.payloadSize else { return try body(local) }
        try gather(cell, local, from: page.pgno)
        // Array's withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let result = gathered.withUnsafeBytes { bytes in Result { () throws(EngineError) -> T in try body(bytes) } }
        return try result.get()
    }

    /// Walks the overflow chain of `cell` without keeping its bytes (only `seen` grows).
    mutating func visitChain(_ cell: BTreePage.Cell, on page: BTreePage) throws(EngineError) {
        guard cell.localSize < cell.payloadSize else { return }
        try gather(cell, UnsafeRawBufferPointer(start: page.base + cell.localStart, count: cell.localSize), from: page.pgno)
    }

    private mutating func gather(_ cell: BTreePage.Cell, _ local: UnsafeRawBufferPointer, from pgno: UInt32) throws(EngineError) {
        gathered.removeAll(keepingCapacity: true)
        gathered.append(contentsOf: local)
        let step = source.usable - 4
        var remaining = cell.payloadSize - cell.localSize
        var next = cell.overflow
        var chain: Set<UInt32> = []
        while remaining > 0 {
            let referrer = chain.isEmpty ? "a cell of page \(pgno)" : "overflow page of a cell of page \(pgno)"
            guard next >= 2, next <= source.pageCount else {
                throw .corrupt(file: source.name, offset: nil, detail: "\(referrer) points to page \(next), outside the database's \(source.pageCount) pages (\(remaining) bytes of payload missing)")
            }
            guard chain.insert(next).inserted else {
                throw .corrupt(file: source.name, offset: nil, detail: "the overflow chain of a cell of page \(pgno) loops back to page \(next)")
            }
            if tracking { seen.insert(next) }
            try source.read(next, overflowPage)
            let n = min(remaining, step)
            gathered.append(contentsOf: UnsafeRawBufferPointer(start: overflowPage + 4, count: n))
            remaining -= n
            next = LE.getBE32(overflowPage, 0)
        }
    }
}
