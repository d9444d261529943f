import Foundation

/// One value of a SQLite row, as a record stores it. JSON: null, a number (integer or real), a
/// string (text), or `{"blob": "hex"}`. A real with an integral value is written as a JSON
/// number without a fraction, so it decodes back as an integer.
package enum SQLiteValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value as a SQL literal, for messages and CSV: NULL, 42, 1.5, 'it''s', X'0aff'.
    package var sqlLiteral: String {
        switch self {
        case .null: return "NULL"
        case let .integer(v): return String(v)
        case let .real(v): return Self.realLiteral(v)
        case let .text(s): return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        case let .blob(b): return "X'" + Self.hex(b) + "'"
        }
    }

    /// A real as SQL reads it back as a real: always with a fraction or an exponent.
    static func realLiteral(_ v: Double) -> String {
        if v.isInfinite { return v < 0 ? "-9e999" : "9e999" }
        if v.isNaN { return "NULL" }
        let s = "\(v)"
        return s.contains(where: { $0 == "." || $0 == "e" }) ? s : s + ".0"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

extension SQLiteValue: Codable {
    private enum BlobKey: String, CodingKey { case blob }

    package func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case let .integer(v):
            var c = encoder.singleValueContainer()
            try c.encode(v)
        case let .real(v):
            var c = encoder.singleValueContainer()
            if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
        case let .text(s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case let .blob(b):
            var c = encoder.container(keyedBy: BlobKey.self)
            try c.encode(Self.hex(b), forKey: .blob)
        }
    }

    package init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: BlobKey.self), keyed.contains(.blob) {
            let hex = try keyed.decode(String.self, forKey: .blob)
            guard let bytes = Self.unhex(hex) else {
                throw DecodingError.dataCorruptedError(forKey: .blob, in: keyed, debugDescription: "not hexadecimal")
            }
            self = .blob(bytes)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .text(s)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else {
            self = .real(try c.decode(Double.self))
        }
    }
}

extension SQLiteValue: Comparable {
    /// SQLite's order of storage classes (NULL, numbers, text, blob); text compares as binary
    /// (UTF-8 bytes), numbers by value, an integer before an equal real.
    package static func < (a: SQLiteValue, b: SQLiteValue) -> Bool {
        switch (a, b) {
        case let (.integer(x), .integer(y)): return x < y
        case let (.real(x), .real(y)): return x < y
        case let (.integer(x), .real(y)): return Double(x) <= y
        case let (.real(x), .integer(y)): return x < Double(y)
        case let (.text(x), .text(y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        case let (.blob(x), .blob(y)): return x.lexicographicallyPrecedes(y)
        default: return a.rank < b.rank
        }
    }

    private var rank: Int {
        switch self {
        case .null: return 0
        case .integer, .real: return 1
        case .text: return 2
        case .blob: return 3
        }
    }
}
