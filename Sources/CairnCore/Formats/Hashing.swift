import CXXHash

/// XXH3 hashing for the data path: per page, per block, per file, and streaming.
public enum Hash {
    @inline(__always)
    public static func xxh3(_ p: UnsafeRawPointer, _ count: Int, seed: UInt64 = 0) -> UInt64 {
        seed == 0 ? XXH3_64bits(p, count) : XXH3_64bits_withSeed(p, count, seed)
    }

    public static func xxh3(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0.baseAddress!, $0.count, seed: seed) }
    }

    /// Hash of one page, seeded with its page number so equal content at two places differs.
    @inline(__always)
    public static func page(_ p: UnsafeRawPointer, size: Int, pgno: UInt32) -> UInt64 {
        XXH3_64bits_withSeed(p, size, UInt64(pgno))
    }

    public static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    public static func parseHex(_ s: String) -> UInt64? { UInt64(s, radix: 16) }
}

/// Streaming XXH3-64 over a sequence of writes.
public final class StreamingHash: @unchecked Sendable {
    private let state: OpaquePointer

    public init() {
        state = XXH3_createState()
        XXH3_64bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    public func update(_ p: UnsafeRawPointer, _ count: Int) {
        XXH3_64bits_update(state, p, count)
    }

    public func update(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { XXH3_64bits_update(state, $0.baseAddress, $0.count) }
    }

    public var value: UInt64 { XXH3_64bits_digest(state) }
}

/// The database state checksum: the sum (mod 2^64) of every page's seeded hash.
/// Order-independent and updatable one page at a time (subtract the old hash, add the new).
public struct DatabaseStateChecksum: Equatable, Sendable {
    public private(set) var value: UInt64 = 0
    public init(value: UInt64 = 0) { self.value = value }
    public mutating func add(_ pageHash: UInt64) { value &+= pageHash }
    public mutating func remove(_ pageHash: UInt64) { value &-= pageHash }
    public mutating func merge(_ other: DatabaseStateChecksum) { value &+= other.value }
}
