import CairnFormats

/// The pieces every export format writes values with, formatted straight into an
/// `OutputBuffer` without allocating: integers, hexadecimal, base64, and the shortest decimal
/// text of a double that reads back as the same double.
enum ValueText {
    /// "00" to "ff": the two hexadecimal digits of each byte, as one little-endian UInt16.
    private static let hexPairs: [UInt16] = (0..<256).map { b in
        let digits = Array("0123456789abcdef".utf8)
        return UInt16(digits[b >> 4]) | UInt16(digits[b & 15]) << 8
    }

    private static let base64Digits: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `v` in decimal.
    @inline(__always)
    static func integer(_ v: Int64, _ out: inout OutputBuffer) throws(EngineError) {
        let p = try out.reserve(20)
        var n = v.magnitude
        var digits = 1
        var limit: UInt64 = 10
        while digits < 20 && n >= limit {
            digits += 1
            limit = limit &* 10
        }
        var i = 0
        if v < 0 {
            p[0] = UInt8(ascii: "-")
            i = 1
        }
        var end = i + digits
        out.advance(end)
        repeat {
            end -= 1
            p[end] = UInt8(truncatingIfNeeded: n % 10) &+ 48
            n /= 10
        } while n > 0
    }

    /// `n` bytes as lowercase hexadecimal digits, two a byte.
    static func hex(_ bytes: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        try hexPairs.withUnsafeBufferPointer { (pairs: UnsafeBufferPointer<UInt16>) throws(EngineError) in
            var done = 0
            while done < n {
                let k = min(n - done, OutputBuffer.capacity / 2)
                let p = UnsafeMutableRawPointer(try out.reserve(2 * k))
                for i in 0..<k {
                    p.storeBytes(of: pairs[Int(bytes[done + i])], toByteOffset: 2 * i, as: UInt16.self)
                }
                out.advance(2 * k)
                done += k
            }
        }
    }

    /// `n` bytes in base64 (RFC 4648, with padding).
    static func base64(_ bytes: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        try base64Digits.withUnsafeBufferPointer { (digits: UnsafeBufferPointer<UInt8>) throws(EngineError) in
            var done = 0
            while done < n {
                // Whole groups of three bytes per piece, so padding only ever ends the last.
                let k = min(n - done, OutputBuffer.capacity / 4 * 3)
                let p = try out.reserve((k + 2) / 3 * 4)
                var i = 0, o = 0
                while i + 3 <= k {
                    let v = UInt32(bytes[done + i]) << 16 | UInt32(bytes[done + i + 1]) << 8 | UInt32(bytes[done + i + 2])
                    p[o] = digits[Int(v >> 18)]
                    p[o + 1] = digits[Int(v >> 12 & 63)]
                    p[o + 2] = digits[Int(v >> 6 & 63)]
                    p[o + 3] = digits[Int(v & 63)]
                    i += 3
                    o += 4
                }
                if i < k {
                    let second = i + 1 < k ? UInt32(bytes[done + i + 1]) : 0
                    let v = UInt32(bytes[done + i]) << 16 | second << 8
                    p[o] = digits[Int(v >> 18)]
                    p[o + 1] = digits[Int(v >> 12 & 63)]
                    p[o + 2] = i + 1 < k ? digits[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                    p[o + 3] = UInt8(ascii: "=")
                    o += 4
                }
                out.advance(o)
                done += k
            }
        }
    }

    /// The shortest decimal text that reads back as exactly `v` under correct rounding (Swift's
    /// own: "0.1", "1e-310", "-0.0", "1e+16", "123.0"; always a "." or an exponent), for a finite
    /// `v`. Returns its length; `p` has room for 32 bytes.
    @inline(__always)
    static func shortest(_ v: Double, into p: UnsafeMutablePointer<UInt8>) -> Int {
        var sink = ASCIISink(start: p)
        v.write(to: &sink)
        return sink.count
    }
}

/// Receives the ASCII text the standard library formats a number into, straight into a buffer.
private struct ASCIISink: TextOutputStream {
    let start: UnsafeMutablePointer<UInt8>
    var count = 0

    init(start: UnsafeMutablePointer<UInt8>) { self.start = start }

    mutating func write(_ string: String) {
        for b in string.utf8 where count < 32 {
            start[count] = b
            count += 1
        }
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let from = buffer.baseAddress else { return }
        let n = min(buffer.count, 32 - count)
        (start + count).update(from: from, count: n)
        count += n
    }
}
