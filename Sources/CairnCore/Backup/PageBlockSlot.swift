import Foundation

/// Reusable buffers for one block of pages on its way through a backup or restore:
/// raw pages, and the encoded block (header, entries, compressed payload).
final class PageBlockSlot: PipelineSlot, @unchecked Sendable {
    let pageSize: Int
    let capacityPages: Int
    /// Raw page images, `count` of them.
    let pages: UnsafeMutableRawPointer
    /// Block header, entries, then payload when compressed.
    let encoded: UnsafeMutableRawPointer
    let encodedCapacity: Int
    /// Hash of each page (filled by `hashPages`, `encode` and restore decoding).
    let hashes: UnsafeMutablePointer<UInt64>
    var firstPage: UInt32 = 0
    var count = 0
    var payloadCount = 0
    var flags: UInt32 = 0
    var hashSum: UInt64 = 0
    /// File and offset the block was read from (for error messages on restore).
    var sourcePath = ""
    var sourceOffset: UInt64 = 0

    var rawBytes: Int { count * pageSize }
    var headCount: Int { BackupPieceFormat.blockHeaderSize + count * BackupPieceFormat.entrySize }
    var entries: UnsafeMutableRawPointer { encoded + BackupPieceFormat.blockHeaderSize }
    var payload: UnsafeMutableRawPointer { flags == 1 ? encoded + headCount : pages }

    init(pageSize: Int, capacityPages: Int) {
        self.pageSize = pageSize
        self.capacityPages = capacityPages
        pages = .allocate(byteCount: pageSize * capacityPages, alignment: 4096)
        encodedCapacity = BackupPieceFormat.blockHeaderSize + capacityPages * BackupPieceFormat.entrySize
            + Compressor.bound(pageSize * capacityPages)
        encoded = .allocate(byteCount: encodedCapacity, alignment: 64)
        hashes = .allocate(capacity: capacityPages)
        super.init()
    }

    deinit {
        pages.deallocate()
        encoded.deallocate()
        hashes.deallocate()
    }

    /// Hashes every page (image copies and restores keep no entries).
    func hashPages() {
        var sum: UInt64 = 0
        for i in 0..<count {
            let h = Hash.page(pages + i * pageSize, size: pageSize, pgno: firstPage + UInt32(i))
            hashes[i] = h
            sum &+= h
        }
        hashSum = sum
    }

    /// Hashes every page, fills the entries, compresses (keeping the pages stored when
    /// compression does not help) and writes the block header.
    func encode(compressor: Compressor?) {
        var sum: UInt64 = 0
        for i in 0..<count {
            let pgno = firstPage + UInt32(i)
            let h = Hash.page(pages + i * pageSize, size: pageSize, pgno: pgno)
            LE.put32(pgno, entries, i * BackupPieceFormat.entrySize)
            LE.put64(h, entries, i * BackupPieceFormat.entrySize + 4)
            sum &+= h
        }
        hashSum = sum
        flags = 0
        payloadCount = rawBytes
        if let compressor {
            let dst = encoded + headCount
            if let n = compressor.compress(pages, rawBytes, into: dst, capacity: encodedCapacity - headCount), n < rawBytes {
                flags = 1
                payloadCount = n
            }
        }
        let entriesCount = count * BackupPieceFormat.entrySize
        let bodyHash = Hash.xxh3(payload, payloadCount, seed: Hash.xxh3(entries, entriesCount))
        BackupPieceFormat.encodeBlockHeader(pages: UInt32(count), payload: UInt32(payloadCount), flags: flags, bodyHash: bodyHash, into: encoded)
    }
}
