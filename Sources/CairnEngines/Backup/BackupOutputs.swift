import Foundation
import CairnFormats
import CairnCatalog

/// What a backup set's consumer thread builds from the blocks handed to it in order: the
/// pieces, and the page map at the backup's SCN. Moved to that thread for the run and back
/// (not Sendable, never shared).
struct BackupSetOutput {
    let writer: BackupPieceWriter
    var map: PageMap
    /// Level 1: blocks hold the changed pages only, set over the base's map; level 0
    /// appends every page in order.
    let replacing: Bool

    mutating func add(_ slot: PageBlockSlot, progress: ProgressMeter) throws(EngineError) {
        try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
            try progress.advance(UInt64(b.readBytes))
            guard b.count > 0 else { return }
            try writer.append(head: b.headBytes.bytes, payload: b.payloadBytes.bytes, pages: b.count, hashSum: b.hashSum,
                              firstPage: b.pgnos[0], lastPage: b.pgnos[b.count - 1])
            for i in 0..<b.count {
                if replacing { map.set(b.pgnos[i], hash: b.hashes[i]) } else { map.append(b.hashes[i]) }
            }
        }
    }
}

/// What an image copy's consumer thread builds: the file (hashed as stored) and the page map.
struct ImageCopyOutput {
    let file: StoredFileWriter
    var map: PageMap

    mutating func add(_ slot: PageBlockSlot, progress: ProgressMeter) throws(EngineError) {
        try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
            try file.append(b.pageBytes.bytes)
            for i in 0..<b.count { map.append(b.hashes[i]) }
            try progress.advance(UInt64(b.rawBytes))
        }
    }
}
