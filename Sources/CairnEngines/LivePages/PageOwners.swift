import Foundation
import CairnFormats

/// Which structure some pages of a SQLite database belong to: every b-tree is walked from its
/// root (interior pages, leaves, the overflow chains of their cells), then the freelist and
/// the pointer-map pages. A page among `pages` is never parsed itself (its content is the
/// damaged one): it is named by the page that points to it.
struct PageOwners {
    /// A b-tree's root page and its name ("table t", "index i").
    typealias Root = (name: String, page: UInt32)
    typealias Read = (_ pgno: UInt32, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void

    let pageSize: Int
    let usable: Int
    let pageCount: UInt32
    let pages: Set<UInt32>
    let read: Read
    private(set) var owners: [UInt32: String] = [:]
    private var visited: [UInt64]
    private let buffer: UnsafeMutableRawPointer

    /// Names the owner of each page of `pages` it finds.
    static func find(_ pages: Set<UInt32>, roots: [Root], pageSize: Int, pageCount: UInt32, read: @escaping Read) throws(EngineError) -> [UInt32: String] {
        let first = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
        defer { first.deallocate() }
        try read(1, first)
        // A damaged first page says nothing trustworthy about reserved bytes, freelist or autovacuum.
        let sound = !pages.contains(1)
        let reserved = sound ? Int(first.load(fromByteOffset: 20, as: UInt8.self)) : 0
        var w = PageOwners(pages: pages, pageSize: pageSize, reserved: reserved < pageSize - 480 ? reserved : 0, pageCount: pageCount, read: read)
        defer { w.buffer.deallocate() }
        if sound { w.nameSpecialPages(autovacuum: LE.getBE32(first, 52) != 0) }
        for root in [(name: "sqlite_schema", page: UInt32(1))] + roots {
            try w.walkTree(root: root.page, name: root.name)
        }
        if sound { try w.walkFreelist(from: LE.getBE32(first, 32)) }
        return w.owners
    }

    private init(pages: Set<UInt32>, pageSize: Int, reserved: Int, pageCount: UInt32, read: @escaping Read) {
        self.pages = pages
        self.pageSize = pageSize
        self.usable = pageSize - reserved
        self.pageCount = pageCount
        self.read = read
        self.visited = [UInt64](repeating: 0, count: Int(pageCount) / 64 + 1)
        self.buffer = .allocate(byteCount: pageSize, alignment: 4096)
    }

    private func readPage(_ pgno: UInt32) throws(EngineError) { try read(pgno, buffer) }

    /// Marks `pgno` seen; false when it was already, or is no page of the database.
    private mutating func visit(_ pgno: UInt32, _ name: String) -> Bool {
        guard pgno >= 1, pgno <= pageCount else { return false }
        let i = Int(pgno) / 64, bit = UInt64(1) << UInt64(Int(pgno) % 64)
        guard visited[i] & bit == 0 else { return false }
        visited[i] |= bit
        if pages.contains(pgno) { owners[pgno] = name }
        return true
    }

    private mutating func nameSpecialPages(autovacuum: Bool) {
        let lockByte = UInt32((1 << 30) / pageSize + 1)
        _ = visit(lockByte, "lock-byte page")
        guard autovacuum else { return }
        var p: UInt32 = 2
        while p <= pageCount {
            _ = visit(p, "pointer map")
            p += UInt32(usable / 5 + 1)
        }
    }

    /// Walks one b-tree: every page it reaches, and the overflow pages of its cells.
    private mutating func walkTree(root: UInt32, name: String) throws(EngineError) {
        var stack = [root]
        while let pgno = stack.popLast() {
            guard visit(pgno, name), !pages.contains(pgno) else { continue }
            try readPage(pgno)
            let h = pgno == 1 ? 100 : 0
            let type = buffer.load(fromByteOffset: h, as: UInt8.self)
            guard [2, 5, 10, 13].contains(type) else { continue }
            let interior = type == 2 || type == 5
            let cells = Int(LE.getBE16(buffer, h + 3))
            let pointers = h + (interior ? 12 : 8)
            if interior { stack.append(LE.getBE32(buffer, h + 8)) }
            var overflow: [UInt32] = []
            for i in 0..<cells {
                guard pointers + 2 * i + 2 <= usable else { break }
                let cell = Int(LE.getBE16(buffer, pointers + 2 * i))
                guard cell >= pointers, cell + 4 <= usable else { continue }
                if interior { stack.append(LE.getBE32(buffer, cell)) }
                if type != 5, let first = overflowPage(cell: cell, type: type) { overflow.append(first) }
            }
            for first in overflow { try walkOverflow(from: first, name: "overflow of " + name) }
        }
    }

    /// The first overflow page of the cell at `offset` of a page of `type`, when it spills.
    private func overflowPage(cell offset: Int, type: UInt8) -> UInt32? {
        var at = type == 2 ? offset + 4 : offset
        guard let (payload, n) = Varint.read(buffer, at: at, limit: usable) else { return nil }
        at += n
        if type == 13 {
            guard let (_, m) = Varint.read(buffer, at: at, limit: usable) else { return nil }
            at += m
        }
        guard payload >= 0, let local = CellPayload.localSize(payload: payload, usable: usable, tableLeaf: type == 13) else { return nil }
        guard at + local + 4 <= usable else { return nil }
        return LE.getBE32(buffer, at + local)
    }

    private mutating func walkOverflow(from first: UInt32, name: String) throws(EngineError) {
        var pgno = first
        while visit(pgno, name), !pages.contains(pgno) {
            try readPage(pgno)
            pgno = LE.getBE32(buffer, 0)
        }
    }

    private mutating func walkFreelist(from first: UInt32) throws(EngineError) {
        var trunk = first
        while visit(trunk, "freelist trunk"), !pages.contains(trunk) {
            try readPage(trunk)
            let next = LE.getBE32(buffer, 0)
            let leaves = min(Int(LE.getBE32(buffer, 4)), (usable - 8) / 4)
            for i in 0..<leaves { _ = visit(LE.getBE32(buffer, 8 + 4 * i), "freelist") }
            trunk = next
        }
    }
}
