/// The newest versions of recently changed pages, in a fixed amount of memory: what a change
/// is computed against when a log is written, and what it is applied to when a log is read
/// alone. Each version is tagged with the log it was written to (`epoch`), the offset of the
/// record that holds it there (what a change's `base` names), its page hash, and how many
/// changes in a row led to it.
///
/// Eviction is CLOCK (second chance): a page used again since the hand last passed stays.
/// A page not found costs the writer a whole image and the reader a read of the base record.
package final class PageVersionCache {
    package struct Version {
        package let data: UnsafeRawPointer
        package let offset: UInt64
        package let depth: Int
        package let hash: UInt64
        package let epoch: UInt64
    }

    package let pageSize: Int
    package let capacity: Int
    private let slab: UnsafeMutableRawPointer
    private var slotOf: [UInt32: Int] = [:]
    private var pgnos: [UInt32]
    private var offsets: [UInt64]
    private var depths: [UInt8]
    private var hashes: [UInt64]
    private var epochs: [UInt64]
    private var referenced: [Bool]
    private var used = 0
    private var hand = 0

    /// Memory the writer and each reader spend on it by default.
    package static let defaultBytes = 8 << 20

    package init(pageSize: Int, bytes: Int = PageVersionCache.defaultBytes) {
        self.pageSize = pageSize
        capacity = max(16, bytes / max(pageSize, 1))
        pgnos = Array(repeating: 0, count: capacity)
        offsets = Array(repeating: 0, count: capacity)
        depths = Array(repeating: 0, count: capacity)
        hashes = Array(repeating: 0, count: capacity)
        epochs = Array(repeating: 0, count: capacity)
        referenced = Array(repeating: false, count: capacity)
        slotOf.reserveCapacity(capacity)
        slab = .allocate(byteCount: capacity * pageSize, alignment: 64)
    }

    deinit { slab.deallocate() }

    /// The cached version of `pgno`, if any.
    package func lookup(_ pgno: UInt32) -> Version? {
        guard let s = slotOf[pgno] else { return nil }
        referenced[s] = true
        return Version(data: UnsafeRawPointer(slab + s * pageSize), offset: offsets[s], depth: Int(depths[s]), hash: hashes[s], epoch: epochs[s])
    }

    /// Keeps `data` as the newest version of `pgno`, held by the record at `offset`.
    package func store(_ pgno: UInt32, _ data: UnsafeRawPointer, offset: UInt64, depth: Int, hash: UInt64 = 0, epoch: UInt64 = 0) {
        let s = slotOf[pgno] ?? claimSlot(for: pgno)
        (slab + s * pageSize).copyMemory(from: data, byteCount: pageSize)
        offsets[s] = offset
        depths[s] = UInt8(min(depth, Int(UInt8.max)))
        hashes[s] = hash
        epochs[s] = epoch
        referenced[s] = true
    }

    /// Forgets every version (a new log, or a record that could not be written).
    package func removeAll() {
        slotOf.removeAll(keepingCapacity: true)
        used = 0
        hand = 0
    }

    private func claimSlot(for pgno: UInt32) -> Int {
        let s: Int
        if used < capacity {
            s = used
            used += 1
        } else {
            while referenced[hand] {
                referenced[hand] = false
                hand = (hand + 1) % capacity
            }
            s = hand
            hand = (hand + 1) % capacity
            slotOf[pgnos[s]] = nil
        }
        pgnos[s] = pgno
        slotOf[pgno] = s
        return s
    }
}
