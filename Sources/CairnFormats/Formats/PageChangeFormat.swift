/// How a compact transaction record ("TXN2", see `RedoRecord`) stores its pages: a sequence
/// of chunks of up to `pagesPerChunk` pages, in the transaction's page order. Little-endian.
///
///     chunk header  pages u32, compressed bytes u32
///     entries       pages × (pgno u32, kind u32, base u64)
///     payload       one zstd frame of pages × page size bytes: for a whole page its image,
///                   for a change the XOR of its image with the previous version
///
/// A change's `base` is the offset, in the same log, of the record that holds the page's
/// previous version (itself whole or a change), always before the record that refers to it.
/// So every page version of a log can be rebuilt from that log alone: a page's first version
/// in a log is whole, and after `maxChangeDepth` changes in a row it is stored whole again,
/// which bounds what rebuilding one version out of order reads.
package enum PageChangeFormat {
    package static let pagesPerChunk = 64
    package static let chunkHeaderSize = 8
    package static let entrySize = 16
    package static let maxChangeDepth = 64
    /// zstd's fastest regular level: a change is mostly zeros, which every level packs.
    package static let compressionLevel: Int32 = 1

    package enum Kind: UInt32 {
        case whole = 0
        case change = 1
    }

    package struct Entry: Equatable {
        package var pgno: UInt32
        package var kind: Kind
        package var base: UInt64

        package init(pgno: UInt32, kind: Kind, base: UInt64) {
            self.pgno = pgno
            self.kind = kind
            self.base = base
        }
    }

    package static func putEntry(_ e: Entry, _ p: UnsafeMutableRawPointer, index: Int) {
        let at = chunkHeaderSize + index * entrySize
        LE.put32(e.pgno, p, at)
        LE.put32(e.kind.rawValue, p, at + 4)
        LE.put64(e.base, p, at + 8)
    }

    /// The entry at `index` of a chunk whose header starts at `p`; nil when its kind is unknown.
    package static func entry(_ p: UnsafeRawPointer, index: Int) -> Entry? {
        let at = chunkHeaderSize + index * entrySize
        guard let kind = Kind(rawValue: LE.get32(p, at + 4)) else { return nil }
        return Entry(pgno: LE.get32(p, at), kind: kind, base: LE.get64(p, at + 8))
    }

    /// `out = a XOR b` over `count` bytes (a multiple of 8); returns how many 8-byte words of
    /// the result are not zero (a change worth storing as one has few).
    @inline(__always)
    package static func xor(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer, count: Int) -> Int {
        var nonzero = 0
        var i = 0
        while i < count {
            let w = a.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            out.storeBytes(of: w, toByteOffset: i, as: UInt64.self)
            nonzero &+= w == 0 ? 0 : 1
            i &+= 8
        }
        return nonzero
    }

    /// `page ^= change` over `count` bytes (a multiple of 8): rebuilds a version from its base.
    @inline(__always)
    package static func apply(_ change: UnsafeRawPointer, to page: UnsafeMutableRawPointer, count: Int) {
        var i = 0
        while i < count {
            let w = page.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ change.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            page.storeBytes(of: w, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
    }
}
