import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// Pages of a snapshot saved, as the snapshot has them, before a checkpoint may overwrite
/// them in the database file (see `SnapshotKeeper`). They go to a file with no name beside
/// the database (owner-only, gone when the snapshot closes; the database's own disk, where
/// there is room for pages of it), and a page is listed only once it is written, so a reader
/// that finds it listed reads it whole. Shared by the keeper's thread, which saves pages, and
/// the threads that read the snapshot.
final class PreservedPages: Sendable {
    private let file: RawFile
    private let pageSize: Int
    /// Where each saved page is in the file (its slot), by page number.
    private let slots = Mutex<[UInt32: UInt32]>([:])

    init(besideDatabase databasePath: String, pageSize: Int) throws(EngineError) {
        let directory = (databasePath as NSString).deletingLastPathComponent
        if let f = try? RawFile(unnamedIn: directory.isEmpty ? "." : directory) {
            file = f
        } else {
            file = try RawFile(unnamedIn: NSTemporaryDirectory())
        }
        self.pageSize = pageSize
    }

    var count: Int { slots.withLock { $0.count } }

    func contains(_ pgno: UInt32) -> Bool { slots.withLock { $0[pgno] != nil } }

    /// Saves `pgno` from `page` (its snapshot version); a page already saved is kept as it is.
    /// One thread stores (the keeper's), so the slot chosen is still free once written.
    func store(_ pgno: UInt32, from page: UnsafeRawPointer) throws(EngineError) {
        guard let slot = slots.withLock({ $0[pgno] == nil ? UInt32($0.count) : nil }) else { return }
        try file.write(page, count: pageSize, at: UInt64(slot) * UInt64(pageSize))
        slots.withLock { $0[pgno] = slot }
    }

    /// Puts the saved versions of pages `first ..< first + count` over `buffer` (which holds
    /// those pages in order).
    func overlay(first: UInt32, count: Int, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        let found: [(Int, UInt32)] = slots.withLock { slots in
            guard !slots.isEmpty else { return [] }
            return (0..<count).compactMap { i in slots[first + UInt32(i)].map { (i, $0) } }
        }
        for (i, slot) in found {
            try file.readExactly(into: buffer + i * pageSize, count: pageSize, at: UInt64(slot) * UInt64(pageSize))
        }
    }
}
