import CSQLite
import CairnFormats

/// Reals in a SQL script, as text SQLite reads back as exactly the same double.
///
/// SQLite's text-to-real conversion is not correctly rounded (3.40: about one double in a few
/// thousand does not come back from its shortest decimal text, nor from 17 or 20 digits). So the
/// shortest text of each real is read back by the SQLite this process links, through a prepared
/// `CAST(?1 AS REAL)` (the conversion a literal gets), and a real that does not come back is
/// written as an exact expression instead: its significand, an integer below 2^53, scaled by
/// powers of two, which SQLite computes without rounding:
/// `(7108263345012345.0/9007199254740992)`. Infinities are `1e999` and `-1e999`; NaN (which
/// SQLite stores as NULL) is `NULL`.
final class RealLiteral {
    private var db: OpaquePointer?
    private var check: OpaquePointer?

    init() throws(EngineError) {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(":memory:", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_close(handle)
            throw .sqlite(path: ":memory:", code: rc, message: "cannot open a connection to check real numbers")
        }
        db = handle
        guard sqlite3_prepare_v2(handle, "SELECT CAST(?1 AS REAL)", -1, &check, nil) == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(handle))
            sqlite3_close(handle)
            db = nil
            throw .sqlite(path: ":memory:", code: SQLITE_ERROR, message: message)
        }
    }

    deinit {
        sqlite3_finalize(check)
        sqlite3_close(db)
    }

    func write(_ v: Double, _ out: inout OutputBuffer) throws(EngineError) {
        if v.isNaN { return try out.append("NULL") }
        if v.isInfinite { return try out.append(v < 0 ? "-1e999" : "1e999") }
        let p = try out.reserve(OutputBuffer.largestItem)
        let n = ValueText.shortest(v, into: p)
        if Self.plainlyExact(v) || readsBack(v, p, n) {
            out.advance(n)
        } else {
            try exact(v, &out)
        }
    }

    /// Zeros and integers below 2^53, whose text ("-0.0", "123.0") every SQLite reads exactly.
    @inline(__always)
    private static func plainlyExact(_ v: Double) -> Bool {
        v.magnitude < 9_007_199_254_740_992 && v == v.rounded(.towardZero)
    }

    /// Whether this process's SQLite reads the `n` bytes at `p` back as `v`.
    private func readsBack(_ v: Double, _ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Bool {
        guard let check else { return false }
        defer {
            sqlite3_reset(check)
        }
        let bound = p.withMemoryRebound(to: CChar.self, capacity: n) { sqlite3_bind_text(check, 1, $0, Int32(n), nil) }
        guard bound == SQLITE_OK, sqlite3_step(check) == SQLITE_ROW else { return false }
        return sqlite3_column_double(check, 0).bitPattern == v.bitPattern
    }

    /// `v` (finite, nonzero) as its odd significand times a power of two, in SQL that SQLite
    /// computes exactly: the significand as a real literal ("m.0", exact below 2^53), then
    /// multiplied or divided by integer powers of two of at most 2^62 (exact scalings, and every
    /// partial result keeps all the significand's bits).
    private func exact(_ v: Double, _ out: inout OutputBuffer) throws(EngineError) {
        var m = v.significandBitPattern | (v.isNormal ? 1 << 52 : 0)
        var e = v.isNormal ? Int(v.exponentBitPattern) - 1075 : -1074
        let zeros = m.trailingZeroBitCount
        m >>= zeros
        e += zeros
        try out.append(v < 0 ? "(-" : "(")
        try ValueText.integer(Int64(m), &out)
        try out.append(".0")
        while e != 0 {
            let step = min(abs(e), 62)
            try out.append(e > 0 ? UInt8(ascii: "*") : UInt8(ascii: "/"))
            try ValueText.integer(Int64(1) << step, &out)
            e += e > 0 ? -step : step
        }
        try out.append(UInt8(ascii: ")"))
    }
}
