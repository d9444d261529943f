import Foundation
import CairnFormats
import CairnCatalog

/// Reusable buffers for one block of pages on its way through a backup or restore:
/// raw pages, and the encoded block (header, entries, compressed payload). Noncopyable: it
/// owns its buffers, and lives in a `PageBlockSlot`, whose lock it is used under.
struct PageBlock: ~Copyable {
    let pageSize: Int
    let capacityPages: Int
    /// Raw page images, `count` of them.
    let pages: UnsafeMutableRawPointer
    /// Block header, entries, then payload when compressed.
    let encoded: UnsafeMutableRawPointer
    let encodedCapacity: Int
    /// Hash of each page (filled by `hashPages`, `encode` and restore decoding).
    let hashes: UnsafeMutablePointer<UInt64>
    /// Page number of each page, ascending (consecutive in level-0 blocks).
    let pgnos: UnsafeMutablePointer<UInt32>
    /// Hash of each page in the base of a level-1 backup, for the pages up to `basePages`
    /// (filled by the thread that reads the pages, which keeps the base map:
    /// `PageMap.copyHashes`).
    let baseHashes: UnsafeMutablePointer<UInt64>
    /// Pages in the base; pages past them are compared with the zero page.
    var basePages: UInt32 = 0
    var firstPage: UInt32 = 0
    var count = 0
    var payloadCount = 0
    var flags: UInt32 = 0
    var hashSum: UInt64 = 0
    /// Bytes of pages read into the slot before unchanged ones were dropped (progress).
    var readBytes = 0
    /// File and offset the block was read from (for error messages on restore).
    var sourcePath = ""
    var sourceOffset: UInt64 = 0

    var rawBytes: Int { count * pageSize }
    var headCount: Int { BackupPieceFormat.blockHeaderSize + count * BackupPieceFormat.entrySize }
    var entries: UnsafeMutableRawPointer { encoded + BackupPieceFormat.blockHeaderSize }
    var payload: UnsafeMutableRawPointer { flags == 1 ? encoded + headCount : pages }

    // The buffers as the spans other owners' code reads and writes them through.
    /// The raw pages.
    var pageBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pages, count: rawBytes) }
    /// The block header and entries.
    var headBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: encoded, count: headCount) }
    var payloadBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: payload, count: payloadCount) }
    var hashList: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(start: hashes, count: count) }
    var pgnoList: UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(start: pgnos, count: count) }
    var baseHashList: UnsafeMutableBufferPointer<UInt64> { UnsafeMutableBufferPointer(start: baseHashes, count: count) }

    init(pageSize: Int, capacityPages: Int) {
        self.pageSize = pageSize
        self.capacityPages = capacityPages
        pages = .allocate(byteCount: pageSize * capacityPages, alignment: 4096)
        encodedCapacity = BackupPieceFormat.blockHeaderSize + capacityPages * BackupPieceFormat.entrySize
            + Compressor.bound(pageSize * capacityPages)
        encoded = .allocate(byteCount: encodedCapacity, alignment: 64)
        hashes = .allocate(capacity: capacityPages)
        pgnos = .allocate(capacity: capacityPages)
        baseHashes = .allocate(capacity: capacityPages)
    }

    deinit {
        pages.deallocate()
        encoded.deallocate()
        hashes.deallocate()
        pgnos.deallocate()
        baseHashes.deallocate()
    }

    /// Describes `count` consecutive pages starting at `first`.
    mutating func setConsecutive(first: UInt32, count: Int) {
        firstPage = first
        self.count = count
        for i in 0..<count { pgnos[i] = first + UInt32(i) }
    }

    /// Hashes every page and drops those equal in the base (unchanged since it),
    /// keeping the rest in order. Pages past the end of the base are compared with the zero
    /// page, which is what a restore of the base holds there once the file grows.
    mutating func keepChanged() {
        hashPages()
        var kept = 0
        var sum: UInt64 = 0
        for i in 0..<count {
            let pgno = pgnos[i]
            let h = hashes[i]
            let baseHash = pgno <= basePages ? baseHashes[i] : PageMap.zeroPageHash(pgno: pgno, pageSize: pageSize)
            if h == baseHash { continue }
            if kept != i {
                (pages + kept * pageSize).copyMemory(from: pages + i * pageSize, byteCount: pageSize)
                pgnos[kept] = pgno
                hashes[kept] = h
            }
            sum &+= h
            kept += 1
        }
        count = kept
        hashSum = sum
        firstPage = kept > 0 ? pgnos[0] : 0
    }

    /// Hashes every page (image copies and restores keep no entries).
    mutating func hashPages() {
        var sum: UInt64 = 0
        for i in 0..<count {
            let h = Hash.page(pages + i * pageSize, size: pageSize, pgno: pgnos[i])
            hashes[i] = h
            sum &+= h
        }
        hashSum = sum
    }

    /// Hashes every page (unless `hashed`), fills the entries, compresses (keeping the pages
    /// stored when compression does not help) and writes the block header.
    mutating func encode(compressor: Compressor?, hashed: Bool = false) {
        var sum: UInt64 = 0
        for i in 0..<count {
            let pgno = pgnos[i]
            let h = hashed ? hashes[i] : Hash.page(pages + i * pageSize, size: pageSize, pgno: pgno)
            hashes[i] = h
            LE.put32(pgno, entries, i * BackupPieceFormat.entrySize)
            LE.put64(h, entries, i * BackupPieceFormat.entrySize + 4)
            sum &+= h
        }
        hashSum = sum
        flags = 0
        payloadCount = rawBytes
        if let compressor {
            var dst = UnsafeMutableRawBufferPointer(start: encoded + headCount, count: encodedCapacity - headCount).mutableBytes
            if let n = compressor.compress(pageBytes.bytes, into: &dst), n < rawBytes {
                flags = 1
                payloadCount = n
            }
        }
        let entriesCount = count * BackupPieceFormat.entrySize
        let bodyHash = Hash.xxh3(payload, payloadCount, seed: Hash.xxh3(entries, entriesCount))
        BackupPieceFormat.encodeBlockHeader(pages: UInt32(count), payload: UInt32(payloadCount), flags: flags, bodyHash: bodyHash, into: encoded)
    }
}
