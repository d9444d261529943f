import CairnFormats

/// One b-tree page read into a buffer: its header and its cells, each checked against the page
/// so that damaged content throws instead of reading out of bounds.
struct BTreePage {
    enum Kind: UInt8 {
        case indexInterior = 2
        case tableInterior = 5
        case indexLeaf = 10
        case tableLeaf = 13
    }

    /// One cell: the child it points to (interior pages), its rowid (table pages), and its
    /// payload: `localSize` bytes at `localStart` on the page, the rest from overflow page
    /// `overflow` on (0: none).
    struct Cell {
        var leftChild: UInt32 = 0
        var rowid: Int64 = 0
        var payloadSize = 0
        var localStart = 0
        var localSize = 0
        var overflow: UInt32 = 0
    }

    let pgno: UInt32
    let base: UnsafeRawPointer
    let kind: Kind
    let cellCount: Int
    /// The right-most child (interior pages), 0 on leaves.
    let rightChild: UInt32
    private let pointers: Int
    private let usable: Int
    private let maxPayload: Int64

    /// Parses the header of page `pgno` held in `base`.
    init(pgno: UInt32, base: UnsafeRawPointer, source: DatabasePages) throws(EngineError) {
        let h = pgno == 1 ? 100 : 0
        guard let kind = Kind(rawValue: base.load(fromByteOffset: h, as: UInt8.self)) else {
            throw source.corrupt(pgno, h, "not a b-tree page (type byte \(base.load(fromByteOffset: h, as: UInt8.self)))")
        }
        self.pgno = pgno
        self.base = base
        self.kind = kind
        self.usable = source.usable
        self.cellCount = Int(LE.getBE16(base, h + 3))
        self.pointers = h + (kind.isLeaf ? 8 : 12)
        self.rightChild = kind.isLeaf ? 0 : LE.getBE32(base, h + 8)
        self.maxPayload = min(Int64(Int32.max), Int64(source.pageCount) * Int64(source.usable))
        guard pointers + 2 * cellCount <= usable else {
            throw source.corrupt(pgno, h + 3, "\(cellCount) cells do not fit in the page")
        }
    }

    var isLeaf: Bool { kind.isLeaf }

    /// Cell `i`'s parts (`i` < `cellCount`).
    func cell(_ i: Int, _ source: DatabasePages) throws(EngineError) -> Cell {
        let offset = Int(LE.getBE16(base, pointers + 2 * i))
        guard offset >= pointers + 2 * cellCount, offset + 4 <= usable else {
            throw source.corrupt(pgno, pointers + 2 * i, "cell \(i) starts at offset \(offset), outside the cell content area")
        }
        var cell = Cell()
        var at = offset
        if !kind.isLeaf {
            cell.leftChild = LE.getBE32(base, at)
            at += 4
        }
        if kind == .tableInterior {
            cell.rowid = try varint(&at, i, source)
            return cell
        }
        let payload = try varint(&at, i, source)
        guard payload >= 0, payload <= maxPayload else { throw source.corrupt(pgno, offset, "cell \(i) claims a payload of \(payload) bytes") }
        if kind == .tableLeaf { cell.rowid = try varint(&at, i, source) }
        cell.payloadSize = Int(payload)
        cell.localStart = at
        if let local = CellPayload.localSize(payload: payload, usable: usable, tableLeaf: kind == .tableLeaf) {
            cell.localSize = local
            guard at + local + 4 <= usable else { throw source.corrupt(pgno, offset, "cell \(i) runs past the end of the page") }
            cell.overflow = LE.getBE32(base, at + local)
        } else {
            cell.localSize = cell.payloadSize
            guard at + cell.payloadSize <= usable else { throw source.corrupt(pgno, offset, "cell \(i) runs past the end of the page") }
        }
        return cell
    }

    private func varint(_ at: inout Int, _ i: Int, _ source: DatabasePages) throws(EngineError) -> Int64 {
        guard let (v, n) = Varint.read(base, at: at, limit: usable) else { throw source.corrupt(pgno, at, "cell \(i) runs past the end of the page") }
        at += n
        return v
    }
}

extension BTreePage.Kind {
    var isLeaf: Bool { self == .indexLeaf || self == .tableLeaf }
    var isIndex: Bool { self == .indexLeaf || self == .indexInterior }
}
