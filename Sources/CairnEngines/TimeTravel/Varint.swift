/// SQLite's variable-length integers (1–9 bytes, big-endian, 7 bits a byte but the ninth).
enum Varint {
    /// The integer at `offset` and its length in bytes; nil when it would run past `limit`.
    static func read(_ p: UnsafeRawPointer, at offset: Int, limit: Int) -> (Int64, Int)? {
        var v: UInt64 = 0
        for i in 0..<9 {
            guard offset + i < limit else { return nil }
            let b = p.load(fromByteOffset: offset + i, as: UInt8.self)
            if i == 8 { return (Int64(bitPattern: (v << 8) | UInt64(b)), 9) }
            v = (v << 7) | UInt64(b & 0x7f)
            if b & 0x80 == 0 { return (Int64(bitPattern: v), i + 1) }
        }
        return nil
    }
}
