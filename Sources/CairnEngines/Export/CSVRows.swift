import CSQLite
import CairnFormats

/// CSV as RFC 4180 has it: a header line of the column names, then one line a row, each line
/// ended by CRLF; a field holding a comma, a double quote, CR or LF is quoted, its double
/// quotes doubled. NULL is an empty field and empty text an empty quoted one (""); integers in
/// decimal; reals as the shortest text that reads back as the same double ("Infinity" and
/// "-Infinity" for infinities); text as its bytes (UTF-8; in a UTF-8 database exactly as stored,
/// even where they are not valid UTF-8); blobs as X'0aff' (hexadecimal). CSV has no types:
/// JSON Lines keeps them.
struct CSVRows: RowFormat {
    let utf8Database: Bool

    mutating func begin(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError) {
        for i in 0..<sqlite3_column_count(s) {
            if i > 0 { try out.append(UInt8(ascii: ",")) }
            let name = sqlite3_column_name(s, i).map { String(cString: $0) } ?? ""
            var utf8 = Array(name.utf8)
            try Self.field(&utf8, &out)
        }
        try out.append("\r\n")
    }

    func row(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError) {
        for i in 0..<sqlite3_column_count(s) {
            if i > 0 { try out.append(UInt8(ascii: ",")) }
            switch sqlite3_column_type(s, i) {
            case SQLITE_INTEGER:
                try ValueText.integer(sqlite3_column_int64(s, i), &out)
            case SQLITE_FLOAT:
                let v = sqlite3_column_double(s, i)
                if v.isInfinite { try out.append(v < 0 ? "-Infinity" : "Infinity"); continue }
                if v.isNaN { continue }
                let p = try out.reserve(OutputBuffer.largestItem)
                out.advance(ValueText.shortest(v, into: p))
            case SQLITE_TEXT:
                let (p, n) = textBytes(s, i, utf8Database: utf8Database)
                guard let p, n > 0 else { try out.append("\"\""); continue }
                try Self.field(p, n, &out)
            case SQLITE_BLOB:
                try out.append("X'")
                let n = Int(sqlite3_column_bytes(s, i))
                if n > 0, let p = sqlite3_column_blob(s, i) { try ValueText.hex(p.assumingMemoryBound(to: UInt8.self), n, &out) }
                try out.append(UInt8(ascii: "'"))
            default:
                continue
            }
        }
        try out.append("\r\n")
    }

    private static func field(_ bytes: inout [UInt8], _ out: inout OutputBuffer) throws(EngineError) {
        guard !bytes.isEmpty else { return try out.append("\"\"") }
        try bytes.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(EngineError) in
            if let p = b.baseAddress { try field(p, b.count, &out) }
        }
    }

    /// `n` bytes as one field, quoted when they need it.
    private static func field(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        var special = false
        for i in 0..<n {
            let b = p[i]
            if b == 0x2C || b == 0x22 || b == 0x0D || b == 0x0A {
                special = true
                break
            }
        }
        guard special else { return try out.append(p, n) }
        try out.append(UInt8(ascii: "\""))
        var start = 0
        for i in 0..<n where p[i] == 0x22 {
            try out.append(p + start, i + 1 - start)
            try out.append(UInt8(ascii: "\""))
            start = i + 1
        }
        try out.append(p + start, n - start)
        try out.append(UInt8(ascii: "\""))
    }
}
