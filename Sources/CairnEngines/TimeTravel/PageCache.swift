import Foundation

/// A bounded cache of page images by key (a page version): `capacity` pages in one buffer, the
/// oldest stored given up first. Used by one thread.
final class PageCache {
    let pageSize: Int
    let capacity: Int
    private let buffer: UnsafeMutableRawPointer
    private var slots: [UInt64: Int] = [:]
    /// Which key each slot holds (.max: none), and the next slot to reuse.
    private var owners: [UInt64]
    private var next = 0

    init(pageSize: Int, capacity: Int) {
        self.pageSize = pageSize
        self.capacity = max(1, capacity)
        buffer = .allocate(byteCount: self.capacity * pageSize, alignment: 4096)
        owners = [UInt64](repeating: .max, count: self.capacity)
    }

    deinit { buffer.deallocate() }

    /// Copies `pgno` into `out` when it is cached.
    func copy(_ pgno: UInt64, into out: UnsafeMutableRawPointer) -> Bool {
        guard let slot = slots[pgno] else { return false }
        out.copyMemory(from: buffer + slot * pageSize, byteCount: pageSize)
        return true
    }

    func store(_ pgno: UInt64, from page: UnsafeRawPointer) {
        let slot = slots[pgno] ?? take()
        slots[pgno] = slot
        owners[slot] = pgno
        (buffer + slot * pageSize).copyMemory(from: page, byteCount: pageSize)
    }

    private func take() -> Int {
        let slot = next
        next = (next + 1) % capacity
        if owners[slot] != .max { slots.removeValue(forKey: owners[slot]) }
        return slot
    }
}
