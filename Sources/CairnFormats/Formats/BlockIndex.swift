import Foundation

/// The blocks of one backup piece by first page: for each block, in order, its first page
/// number (u32) and the offset of its header in the piece (u64), little-endian, kept in the
/// manifest (checksummed with it) as base64.
package struct BlockIndex: Equatable, Sendable {
    package struct Block: Equatable, Sendable {
        package let firstPage: UInt32
        package let offset: UInt64
    }

    package private(set) var blocks: [Block] = []

    package init() {}

    package mutating func append(firstPage: UInt32, offset: UInt64) {
        blocks.append(Block(firstPage: firstPage, offset: offset))
    }

    package var encoded: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(blocks.count * 12)
        for b in blocks {
            withUnsafeBytes(of: b.firstPage.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: b.offset.littleEndian) { bytes += $0 }
        }
        return Data(bytes).base64EncodedString()
    }

    /// Nil when `text` is not an index (the reader then walks the piece's blocks).
    package init?(_ text: String) {
        guard let data = Data(base64Encoded: text), data.count % 12 == 0 else { return nil }
        let bytes = [UInt8](data)
        for i in stride(from: 0, to: bytes.count, by: 12) {
            let first = bytes[i..<i + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let offset = bytes[i + 4..<i + 12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if let last = blocks.last, first <= last.firstPage || offset <= last.offset { return nil }
            blocks.append(Block(firstPage: first, offset: offset))
        }
    }

    /// The block that holds `pgno` if any does: the last one starting at or before it.
    package func block(holding pgno: UInt32) -> Block? {
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid].firstPage <= pgno { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : blocks[lo - 1]
    }
}
