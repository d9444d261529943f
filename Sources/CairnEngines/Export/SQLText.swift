import CSQLite
import CairnFormats
#if canImport(Glibc)
import Glibc
#endif

/// Values as SQL literals that SQLite reads back as exactly the same value of the same type:
/// integers in decimal (INT64's minimum too), reals as `RealLiteral` writes them, blobs as
/// `X'0aff'`, NULL. Text that is well-formed UTF-8 without NUL or CR is a quoted literal
/// ('it''s'); other text (NUL bytes, invalid UTF-8, a CR, which the sqlite3 shell would drop
/// before a line feed), and all text of a UTF-16 database, is its bytes in the database's
/// encoding, cast: `CAST(X'610062' AS TEXT)`.
struct SQLText {
    let reals: RealLiteral
    /// The database stores text as UTF-16: every text value is written as its bytes.
    let textAsBytes: Bool

    @inline(__always)
    func value(_ s: OpaquePointer, _ i: Int32, _ out: inout OutputBuffer) throws(EngineError) {
        switch sqlite3_column_type(s, i) {
        case SQLITE_INTEGER:
            try ValueText.integer(sqlite3_column_int64(s, i), &out)
        case SQLITE_FLOAT:
            try reals.write(sqlite3_column_double(s, i), &out)
        case SQLITE_TEXT:
            // The bytes as stored, in the database's encoding (no conversion, no terminator).
            let p = sqlite3_column_blob(s, i)?.assumingMemoryBound(to: UInt8.self)
            let n = Int(sqlite3_column_bytes(s, i))
            guard let p, n > 0 else { return try out.append("''") }
            if !textAsBytes && UTF8Check.isValid(p, n, literal: true) {
                try Self.quoted(p, n, &out)
            } else {
                try out.append("CAST(X'")
                try ValueText.hex(p, n, &out)
                try out.append("' AS TEXT)")
            }
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(s, i))
            try out.append("X'")
            if n > 0, let p = sqlite3_column_blob(s, i) { try ValueText.hex(p.assumingMemoryBound(to: UInt8.self), n, &out) }
            try out.append(UInt8(ascii: "'"))
        default:
            try out.append("NULL")
        }
    }

    /// `n` bytes between single quotes, each quote doubled.
    static func quoted(_ p: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws(EngineError) {
        try out.append(UInt8(ascii: "'"))
        var start = 0
        while start < n {
            guard let q = memchr(p + start, 0x27, n - start) else {
                try out.append(p + start, n - start)
                break
            }
            let end = UnsafePointer(q.assumingMemoryBound(to: UInt8.self)) - p + 1
            try out.append(p + start, end - start)
            try out.append(UInt8(ascii: "'"))
            start = end
        }
        try out.append(UInt8(ascii: "'"))
    }

    /// `text` as a SQL string literal ('it''s'), for names in the script.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
