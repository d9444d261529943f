import CPageDelta

/// How a compact transaction record ("TXN2", see `RedoRecord`) stores its pages: a sequence
/// of chunks of up to `pagesPerChunk` pages, in the transaction's page order. Little-endian.
///
///     chunk header  pages u32, compressed bytes u32
///     entries       pages × (pgno u32, kind u32, base u64, hash u64)
///     payload       one zstd frame of pages × page size bytes: for a whole page its image,
///                   for a change the XOR of its image with the page's previous version
///
/// `hash` is the page hash of the new version (`Hash.page`, what the page map holds), so a
/// reader checks every page it rebuilds, and capture resuming a log needs no page content.
/// The previous version a change is against is the one just before the record, always; the
/// kind says where the writer found it, which is where a reader without the database finds it:
/// - `change`: in the same log, in the record at offset `base` (whole or itself a change);
///   after `maxChangeDepth` such changes in a row the page is stored otherwise, which bounds
///   what rebuilding one version out of order reads;
/// - `changeFromState`: in the database as of the start of the log (the page was not written
///   earlier in the log, or that version left the writer's cache). Recovery, which applies the
///   records in order to a database at the state before each one, has it; a reader with
///   nothing but the log cannot rebuild such a page (nor the changes based on it).
/// A page is stored whole when no previous version is at hand (or after `maxChangeDepth`
/// changes in a row), however large the change: every change also leads back to the version
/// before it, which a flashback follows from the live database.
package enum PageChangeFormat {
    package static let pagesPerChunk = 64
    package static let chunkHeaderSize = 8
    package static let entrySize = 24
    package static let maxChangeDepth = 64
    /// zstd's fastest regular level: a change is mostly zeros, which every level packs.
    package static let compressionLevel: Int32 = 1

    package enum Kind: UInt32 {
        case whole = 0
        case change = 1
        case changeFromState = 2
    }

    package struct Entry: Equatable {
        package var pgno: UInt32
        package var kind: Kind
        package var base: UInt64
        package var hash: UInt64

        package init(pgno: UInt32, kind: Kind, base: UInt64, hash: UInt64) {
            self.pgno = pgno
            self.kind = kind
            self.base = base
            self.hash = hash
        }
    }

    package static func putEntry(_ e: Entry, _ p: UnsafeMutableRawPointer, index: Int) {
        let at = chunkHeaderSize + index * entrySize
        LE.put32(e.pgno, p, at)
        LE.put32(e.kind.rawValue, p, at + 4)
        LE.put64(e.base, p, at + 8)
        LE.put64(e.hash, p, at + 16)
    }

    /// The entry at `index` of a chunk whose header starts at `p`; nil when its kind is unknown.
    package static func entry(_ p: UnsafeRawPointer, index: Int) -> Entry? {
        let at = chunkHeaderSize + index * entrySize
        guard let kind = Kind(rawValue: LE.get32(p, at + 4)) else { return nil }
        return Entry(pgno: LE.get32(p, at), kind: kind, base: LE.get64(p, at + 8), hash: LE.get64(p, at + 16))
    }

    /// `out = a XOR b` over `count` bytes (a multiple of 8, pointers 8-byte aligned).
    @inline(__always)
    package static func xor(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer, count: Int) {
        cairn_xor_pages(a, b, out, count)
    }

    /// `page ^= change` over `count` bytes (a multiple of 8): rebuilds a version from its base.
    @inline(__always)
    package static func apply(_ change: UnsafeRawPointer, to page: UnsafeMutableRawPointer, count: Int) {
        cairn_xor_into(page, change, count)
    }
}
