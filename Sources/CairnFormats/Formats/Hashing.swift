import CXXHash

/// XXH3 hashing for the data path: per page, per block, per file, and streaming.
package enum Hash {
    @inline(__always)
    package static func xxh3(_ p: UnsafeRawPointer, _ count: Int, seed: UInt64 = 0) -> UInt64 {
        seed == 0 ? XXH3_64bits(p, count) : XXH3_64bits_withSeed(p, count, seed)
    }

    package static func xxh3(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0.baseAddress!, $0.count, seed: seed) }
    }

    /// Hash of one page, seeded with its page number so equal content at two places differs.
    @inline(__always)
    package static func page(_ p: UnsafeRawPointer, size: Int, pgno: UInt32) -> UInt64 {
        XXH3_64bits_withSeed(p, size, UInt64(pgno))
    }

    package static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    package static func parseHex(_ s: String) -> UInt64? { UInt64(s, radix: 16) }
}

/// Streaming XXH3-64 over a sequence of writes. Not Sendable: one thread at a time updates it.
package final class StreamingHash {
    private let state: OpaquePointer

    package init() {
        state = XXH3_createState()
        XXH3_64bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    package func update(_ p: UnsafeRawPointer, _ count: Int) {
        XXH3_64bits_update(state, p, count)
    }

    /// Updates with bytes borrowed from memory another owner keeps (a pipeline slot's).
    package func update(_ bytes: RawSpan) {
        bytes.withUnsafeBytes { update($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) }
    }

    package func update(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { XXH3_64bits_update(state, $0.baseAddress, $0.count) }
    }

    package var value: UInt64 { XXH3_64bits_digest(state) }
}

/// The database state checksum: the sum (mod 2^64) of every page's seeded hash.
/// Order-independent and updatable one page at a time (subtract the old hash, add the new).
package struct DatabaseStateChecksum: Equatable, Sendable {
    package private(set) var value: UInt64 = 0
    package init(value: UInt64 = 0) { self.value = value }
    package mutating func add(_ pageHash: UInt64) { value &+= pageHash }
    package mutating func remove(_ pageHash: UInt64) { value &-= pageHash }
    package mutating func merge(_ other: DatabaseStateChecksum) { value &+= other.value }
}
