import Foundation
import CairnFormats

/// Which b-tree (table or index) each page belongs to, kept up to date transaction by
/// transaction: built once by walking every tree's interior pages (and one leaf per bottom
/// level, to tell leaves from interior pages: a b-tree is balanced), then changed only where a
/// transaction rewrote the schema, a root or an interior page. Leaves are named by the
/// interior page that points to them, so they are never read. Pages outside every tree
/// (overflow chains, the freelist) have no owner.
struct BTreeOwnership {
    typealias Read = (_ pgno: UInt32, _ scn: UInt64, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void
    typealias Schema = (_ scn: UInt64) throws(EngineError) -> [Tree]

    /// A b-tree of the schema: a table's or an index's (`table` is the table it indexes).
    struct Tree: Equatable {
        let name: String
        let table: String
        let isIndex: Bool
        let root: UInt32
    }

    let pageSize: Int
    let read: Read
    let schema: Schema
    /// The trees by root page (the schema's own is "sqlite_schema", at page 1).
    private(set) var trees: [UInt32: Tree] = [:]
    /// Page → root of its tree.
    private(set) var owner: [UInt32: UInt32] = [:]
    private var interior = Set<UInt32>()
    private let buffer: UnsafeMutableRawPointer

    init(pageSize: Int, at scn: UInt64, read: @escaping Read, schema: @escaping Schema) throws(EngineError) {
        self.pageSize = pageSize
        self.read = read
        self.schema = schema
        buffer = .allocate(byteCount: pageSize, alignment: 4096)
        try reloadSchema(at: scn)
    }

    func release() { buffer.deallocate() }

    /// The tree `pgno` belongs to, if any.
    func tree(of pgno: UInt32) -> Tree? { owner[pgno].flatMap { trees[$0] } }

    /// Brings the map to the state after the transaction at `scn` that wrote `pages`.
    mutating func apply(scn: UInt64, pages: [UInt32]) throws(EngineError) {
        if pages.contains(1) { try reloadSchema(at: scn) }
        for p in pages where interior.contains(p) || trees[p] != nil {
            guard let root = owner[p] ?? (trees[p] != nil ? p : nil) else { continue }
            try walk(p, root: root, at: scn, onlyNew: true)
        }
    }

    /// Reads the schema as of `scn`: walks trees that are new, forgets those gone.
    private mutating func reloadSchema(at scn: UInt64) throws(EngineError) {
        var now: [UInt32: Tree] = [1: Tree(name: "sqlite_schema", table: "sqlite_schema", isIndex: false, root: 1)]
        for t in try schema(scn) where t.root > 1 { now[t.root] = t }
        let gone = trees.filter { now[$0.key] != $0.value }.map(\.key)
        for root in gone {
            trees.removeValue(forKey: root)
            for (p, r) in owner where r == root { owner.removeValue(forKey: p); interior.remove(p) }
        }
        for (root, tree) in now where trees[root] != tree {
            trees[root] = tree
            try walk(root, root: root, at: scn, onlyNew: false)
        }
    }

    /// Walks the tree below `top` as of `scn`, naming every page `root`'s; with `onlyNew`, below
    /// `top` only the interior pages not known as such are walked further.
    private mutating func walk(_ top: UInt32, root: UInt32, at scn: UInt64, onlyNew: Bool) throws(EngineError) {
        var stack = [top]
        var seen = Set<UInt32>()
        while let p = stack.popLast() {
            guard seen.insert(p).inserted else { continue }
            owner[p] = root
            try read(p, scn, buffer)
            let children = Self.children(buffer, pgno: p, pageSize: pageSize)
            guard let children else { interior.remove(p); continue }
            interior.insert(p)
            guard let first = children.first else { continue }
            // Children are all leaves or all interior pages: one read tells which.
            try read(first, scn, buffer)
            let leaves = Self.children(buffer, pgno: first, pageSize: pageSize) == nil
            for c in children {
                if leaves {
                    owner[c] = root
                    interior.remove(c)
                } else if !onlyNew || !interior.contains(c) || owner[c] != root {
                    stack.append(c)
                } else {
                    owner[c] = root
                }
            }
        }
    }

    /// The child pages of an interior b-tree page (nil for a leaf or anything else).
    static func children(_ page: UnsafeRawPointer, pgno: UInt32, pageSize: Int) -> [UInt32]? {
        let h = pgno == 1 ? 100 : 0
        let type = page.load(fromByteOffset: h, as: UInt8.self)
        guard type == 0x05 || type == 0x02 else { return nil }
        let cells = Int(LE.getBE16(page, h + 3))
        guard h + 12 + cells * 2 <= pageSize else { return nil }
        var out: [UInt32] = []
        out.reserveCapacity(cells + 1)
        for i in 0..<cells {
            let at = Int(LE.getBE16(page, h + 12 + i * 2))
            guard at >= h + 12, at + 4 <= pageSize else { continue }
            out.append(LE.getBE32(page, at))
        }
        out.append(LE.getBE32(page, h + 8))
        return out
    }
}
