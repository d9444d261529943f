import CSQLite
import CairnFormats
import Foundation

/// JSON Lines: one JSON object a row, keys the column names in the query's order, each line
/// ended by LF. NULL is null; integers are JSON numbers (all 64 bits, as written); reals are
/// numbers always written with a "." or an exponent, the shortest text that reads back as the
/// same double; text that is valid UTF-8 is a JSON string (NUL as \u0000). What JSON has no
/// form for is an object with one key: infinities `{"$real":"Infinity"}` and
/// `{"$real":"-Infinity"}`, text that is not valid UTF-8 `{"$text":"<base64 of its bytes>"}`,
/// blobs `{"$blob":"<base64>"}`.
struct JSONLineRows: RowFormat {
    let utf8Database: Bool
    /// `{"a":`, `,"b":`… for the query's columns.
    private var keys: [[UInt8]] = []

    init(utf8Database: Bool) { self.utf8Database = utf8Database }

    mutating func begin(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError) {
        keys = (0..<sqlite3_column_count(s)).map { i in
            let name = Array((sqlite3_column_name(s, i).map { String(cString: $0) } ?? "").utf8)
            return Array((i == 0 ? "{" : ",").utf8) + Self.jsonString(name) + [UInt8(ascii: ":")]
        }
    }

    func row(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError) {
        if keys.isEmpty { try out.append("{") }
        for (index, key) in keys.enumerated() {
            let i = Int32(index)
            try out.append(key)
            switch sqlite3_column_type(s, i) {
            case SQLITE_INTEGER:
                try ValueText.integer(sqlite3_column_int64(s, i), &out)
            case SQLITE_FLOAT:
                let v = sqlite3_column_double(s, i)
                if v.isNaN { try out.append("null"); continue }
                if v.isInfinite { try out.append(v < 0 ? "{\"$real\":\"-Infinity\"}" : "{\"$real\":\"Infinity\"}"); continue }
                let p = try out.reserve(OutputBuffer.largestItem)
                out.advance(ValueText.shortest(v, into: p))
            case SQLITE_TEXT:
                let (p, n) = textBytes(s, i, utf8Database: utf8Database)
                guard let p, n > 0 else { try out.append("\"\""); continue }
                if UTF8Check.isValid(p, n, literal: false) {
                    try Self.string(p, n, &out)
                } else {
                    try Self.tagged("{\"$text\":\"", p, n, &out)
                }
            case SQLITE_BLOB:
                let n = Int(sqlite3_column_bytes(s, i))
                try Self.tagged("{\"$blob\":\"", sqlite3_column_blob(s, i)?.assumingMemoryBound(to: UInt8.self), n, &out)
            default:
                try out.append("null")
            }
        }
        try out.append("}\n")
    }

    private static func tagged(_ tag: StaticString, _ p: UnsafePointer<UInt8>?, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        try out.append(tag)
        if let p, n > 0 { try ValueText.base64(p, n, &out) }
        try out.append("\"}")
    }

    /// Valid UTF-8 as a JSON string: `"` and `\` escaped, control characters as \n, \t… or \u00XX.
    private static func string(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        try out.append(UInt8(ascii: "\""))
        var start = 0
        for i in 0..<n {
            let b = p[i]
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            try out.append(p + start, i - start)
            try escape(b, &out)
            start = i + 1
        }
        try out.append(p + start, n - start)
        try out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ b: UInt8, _ out: inout OutputBuffer) throws(EngineError) {
        switch b {
        case 0x22: try out.append("\\\"")
        case 0x5C: try out.append("\\\\")
        case 0x0A: try out.append("\\n")
        case 0x0D: try out.append("\\r")
        case 0x09: try out.append("\\t")
        case 0x08: try out.append("\\b")
        case 0x0C: try out.append("\\f")
        default:
            let digits = Array("0123456789abcdef".utf8)
            try out.append("\\u00")
            try out.append(digits[Int(b >> 4)])
            try out.append(digits[Int(b & 15)])
        }
    }

    /// A column name as a JSON string (names are Swift strings: valid UTF-8).
    private static func jsonString(_ name: [UInt8]) -> [UInt8] {
        var s: [UInt8] = [UInt8(ascii: "\"")]
        for b in name {
            switch b {
            case 0x22: s += Array("\\\"".utf8)
            case 0x5C: s += Array("\\\\".utf8)
            case 0..<0x20: s += Array(String(format: "\\u%04x", b).utf8)
            default: s.append(b)
            }
        }
        return s + [UInt8(ascii: "\"")]
    }
}
