/// Bytes as lowercase hexadecimal text and back (keyring entries, key files).
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0F)]
            }
            return 2 * bytes.count
        }
    }

    static func encode(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { encode($0) } }

    /// The bytes `text` spells (either case), or nil if it is not an even number of hex digits.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: chars.count / 2)
        for i in out.indices {
            guard let high = chars[2 * i].hexValue, let low = chars[2 * i + 1].hexValue else { return nil }
            out[i] = high << 4 | low
        }
        return out
    }
}

extension UInt8 {
    /// An ASCII hexadecimal digit (either case).
    var isHexDigit: Bool { hexValue != nil }

    /// The value of an ASCII hexadecimal digit, or nil.
    var hexValue: UInt8? {
        switch self {
        case 0x30...0x39: return self - 0x30
        case 0x41...0x46: return self - 0x41 + 10
        case 0x61...0x66: return self - 0x61 + 10
        default: return nil
        }
    }
}
