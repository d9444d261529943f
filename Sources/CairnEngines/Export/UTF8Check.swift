/// Whether bytes of a TEXT value are well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF), so a format that holds Unicode text can hold them as they
/// are; others are written in a lossless escaped form instead.
enum UTF8Check {
    private static let high: UInt64 = 0x8080_8080_8080_8080
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let carriageReturns: UInt64 = 0x0D0D_0D0D_0D0D_0D0D

    /// Well-formed; for a SQL string literal (`literal`), also without NUL (SQLite's statement
    /// ends there) and without CR (the sqlite3 shell drops a CR before a line feed).
    static func isValid(_ p: UnsafePointer<UInt8>, _ n: Int, literal: Bool) -> Bool {
        var i = 0
        while i < n {
            // Eight ASCII bytes at a time (for a literal, none of them NUL or CR).
            while i + 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if w & high != 0 || (literal && (hasZeroByte(w) || hasZeroByte(w ^ carriageReturns))) { break }
                i += 8
            }
            guard i < n else { return true }
            let b = p[i]
            if b < 0x80 {
                if literal && (b == 0 || b == 0x0D) { return false }
                i += 1
                continue
            }
            guard let length = sequenceLength(p + i, n - i) else { return false }
            i += length
        }
        return true
    }

    @inline(__always)
    private static func hasZeroByte(_ w: UInt64) -> Bool { (w &- ones) & ~w & high != 0 }

    /// The length of the well-formed multi-byte sequence at `p` (`n` bytes left), or nil.
    private static func sequenceLength(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        let b0 = p[0]
        func continuation(_ k: Int) -> Bool { k < n && p[k] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0...0xEF:
            guard continuation(1), continuation(2) else { return nil }
            let b1 = p[1]
            if b0 == 0xE0 && b1 < 0xA0 { return nil }  // overlong
            if b0 == 0xED && b1 > 0x9F { return nil }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard continuation(1), continuation(2), continuation(3) else { return nil }
            let b1 = p[1]
            if b0 == 0xF0 && b1 < 0x90 { return nil }  // overlong
            if b0 == 0xF4 && b1 > 0x8F { return nil }  // past U+10FFFF
            return 4
        default:
            return nil
        }
    }
}
