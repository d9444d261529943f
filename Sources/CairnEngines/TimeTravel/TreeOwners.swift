import CairnFormats

/// Which b-tree each page of one version of a database belongs to, and as what, found by
/// descending every b-tree from its root through its interior pages only: the children of the
/// last interior level are known to be leaves from the first of them (SQLite's b-trees are
/// balanced), so leaves are never read. Also marks the freelist (trunks are read, not the
/// pages they list), the pointer-map pages and the lock-byte page. Overflow pages are not
/// marked: they are reached from the cells that own them.
package struct TreeOwners {
    /// What a page is to its owner.
    package enum Role: UInt8, Sendable {
        case unknown
        case interior
        case leaf
        case free
        case special
    }

    /// One b-tree: its name ("table t", "index i") and root page.
    package typealias Tree = (name: String, root: UInt32)

    package let trees: [Tree]
    /// By page number: the index in `trees` of the page's owner, -1 for none.
    private(set) var owner: [Int32]
    private(set) var role: [Role]

    /// Maps the pages of `source` reached from `trees` (sqlite_schema's page 1 is added as a tree of its own).
    package static func map(_ source: DatabasePages, trees: [Tree]) throws(EngineError) -> TreeOwners {
        var map = TreeOwners(trees: [(name: "table sqlite_schema", root: 1)] + trees, count: source.pageCount)
        guard source.pageCount > 0 else { return map }
        let page = source.allocatePage()
        defer { page.deallocate() }
        try map.markSpecial(source, page)
        for t in map.trees.indices { try map.descend(Int32(t), source, page) }
        return map
    }

    /// The owner of each page of `pages` that a tree of `trees` reaches as an interior page or a
    /// leaf (not an overflow page).
    package static func owners(of pages: Set<UInt32>, in source: DatabasePages, trees: [Tree]) throws(EngineError) -> [UInt32: String] {
        let map = try map(source, trees: trees)
        var out: [UInt32: String] = [:]
        for p in pages { if let o = map.owner(of: p) { out[p] = o.name } }
        return out
    }

    /// The tree page `pgno` belongs to and whether it is a leaf; nil for other pages.
    package func owner(of pgno: UInt32) -> (name: String, leaf: Bool)? {
        guard let t = tree(of: pgno) else { return nil }
        return (trees[t].name, role[Int(pgno)] == .leaf)
    }

    /// The index in `trees` of the owner of `pgno`.
    func tree(of pgno: UInt32) -> Int? {
        guard Int(pgno) < owner.count, owner[Int(pgno)] >= 0 else { return nil }
        return Int(owner[Int(pgno)])
    }

    func role(of pgno: UInt32) -> Role { Int(pgno) < role.count ? role[Int(pgno)] : .unknown }

    private init(trees: [Tree], count: UInt32) {
        self.trees = trees
        owner = [Int32](repeating: -1, count: Int(count) + 1)
        role = [Role](repeating: .unknown, count: Int(count) + 1)
    }

    private mutating func mark(_ pgno: UInt32, _ tree: Int32, _ r: Role, _ source: DatabasePages, from referrer: String) throws(EngineError) {
        guard pgno >= 1, Int(pgno) < role.count else {
            throw .corrupt(file: source.name, offset: nil, detail: "\(referrer) points to page \(pgno), outside the database's \(source.pageCount) pages")
        }
        guard role[Int(pgno)] == .unknown else {
            let other = owner[Int(pgno)] >= 0 ? trees[Int(owner[Int(pgno)])].name : "the freelist or a pointer map"
            throw .corrupt(file: source.name, offset: nil, detail: "\(referrer) points to page \(pgno), which \(other) already holds")
        }
        owner[Int(pgno)] = tree
        role[Int(pgno)] = r
    }

    /// Walks tree `t` level by level, reading interior pages only.
    private mutating func descend(_ t: Int32, _ source: DatabasePages, _ page: UnsafeMutableRawPointer) throws(EngineError) {
        let name = trees[Int(t)].name
        var level = [trees[Int(t)].root]
        var leaves = false
        for depth in 0... {
            guard !level.isEmpty else { return }
            guard depth < BTreeWalker.maxDepth else { throw .corrupt(file: source.name, offset: nil, detail: "\(name) is deeper than \(BTreeWalker.maxDepth) levels") }
            var next: [UInt32] = []
            for pgno in level {
                let from = depth == 0 ? "the schema of \(name)" : "an interior page of \(name)"
                if leaves {
                    try mark(pgno, t, .leaf, source, from: from)
                    continue
                }
                try source.load(pgno, into: page, from: from)
                let p = try BTreePage(pgno: pgno, base: page, source: source)
                try mark(pgno, t, p.isLeaf ? .leaf : .interior, source, from: from)
                guard !p.isLeaf else { continue }
                for i in 0..<p.cellCount { next.append(try p.cell(i, source).leftChild) }
                next.append(p.rightChild)
            }
            if let first = next.first, !leaves {
                try source.load(first, into: page, from: "an interior page of \(name)")
                leaves = try BTreePage(pgno: first, base: page, source: source).isLeaf
            }
            level = next
        }
    }

    /// Marks the lock-byte page, the pointer-map pages and the freelist.
    private mutating func markSpecial(_ source: DatabasePages, _ page: UnsafeMutableRawPointer) throws(EngineError) {
        let lockByte = UInt32((1 << 30) / source.pageSize + 1)
        if lockByte <= source.pageCount { try mark(lockByte, -1, .special, source, from: "the header") }
        if source.autovacuum {
            var p: UInt32 = 2
            while p <= source.pageCount {
                if role[Int(p)] == .unknown { try mark(p, -1, .special, source, from: "the header") }
                p += UInt32(source.usable / 5 + 1)
            }
        }
        try source.read(1, page)
        var trunk = LE.getBE32(page, 32)
        while trunk != 0 {
            try mark(trunk, -1, .free, source, from: "the freelist")
            try source.read(trunk, page)
            let count = Int(LE.getBE32(page, 4))
            guard count <= (source.usable - 8) / 4 else { throw source.corrupt(trunk, 4, "a freelist trunk lists \(count) pages") }
            for i in 0..<count { try mark(LE.getBE32(page, 8 + 4 * i), -1, .free, source, from: "freelist trunk page \(trunk)") }
            trunk = LE.getBE32(page, 0)
        }
    }
}
