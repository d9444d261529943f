import CSQLite
import CairnFormats
#if canImport(Glibc)
import Glibc
#endif

/// INSERTs of literal values, as `cairn export` and the sqlite3 shell's `.dump` write them
/// (`INSERT INTO "t" VALUES(1,'a',2.5,X'00',NULL);`), run without compiling each one: the
/// values are bound to a prepared `INSERT INTO "t" VALUES(?1,?2,CAST(?3 AS REAL),?4,?5)` kept
/// for the statement's shape, so SQLite compiles one statement a table instead of one a row.
/// Every value is the one the literal gives: integers that fit 64 bits (larger ones are reals
/// in SQL: not taken), text and blobs as their bytes, and reals handed to SQLite as their text
/// for its own conversion (the one a literal gets); a negative real is `-CAST(…)`, exact for
/// any nonzero value (a negative zero is not taken). Anything else (an expression, a hex
/// integer, spaces where the writers put none) is not taken and runs as SQL.
final class LiteralInserts {
    enum Kind: UInt8 { case null, integer, real, negativeReal, text, blob }

    /// One value of a row: where its bytes are (in the script, or at `scratch` + `offset`).
    private struct Value {
        var kind = Kind.null
        var integer: Int64 = 0
        var start: UnsafePointer<UInt8>?
        var offset = -1
        var length = 0
    }

    private let db: OpaquePointer
    private var statements: [[UInt8]: OpaquePointer] = [:]
    private var lastKey: [UInt8] = []
    private var lastStatement: OpaquePointer?
    private var key: [UInt8] = []
    private var values: [Value] = []
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity = 1 << 16
    private var scratchUsed = 0

    init(db: OpaquePointer) {
        self.db = db
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit {
        for s in statements.values { sqlite3_finalize(s) }
        scratch.deallocate()
    }

    /// Runs the statement at `p` (text ending in a NUL) if it is an INSERT of literal rows;
    /// returns the bytes it spans through its `;`, or nil when it is not one (nothing ran).
    /// `begin` runs first (the importer's transaction). A failed step throws SQLite's code.
    func run(_ p: UnsafePointer<UInt8>, begin: () throws(EngineError) -> Void) throws(EngineError) -> Int? {
        var i = 0
        while p[i] == 0x0A || p[i] == 0x20 || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        let start = i
        guard let valuesAt = Self.target(p, &i) else { return nil }
        // Check every row before running any (a later row that is not plain leaves it to SQL).
        var check = i
        while true {
            guard parseRow(p, &check, bind: false) else { return nil }
            if p[check] == 0x3B { break }
            guard p[check] == 0x2C else { return nil }
            check += 1
            while p[check] == 0x0A || p[check] == 0x20 { check += 1 }
        }
        try begin()
        while true {
            scratchUsed = 0
            _ = parseRow(p, &i, bind: true)
            try step(prefix: p + start, count: valuesAt - start)
            if p[i] == 0x3B { return i + 1 }
            i += 1
            while p[i] == 0x0A || p[i] == 0x20 { i += 1 }
        }
    }

    /// After `INSERT INTO name[(columns)][ ]VALUES`: the index of the `(` of the first row.
    private static func target(_ p: UnsafePointer<UInt8>, _ i: inout Int) -> Int? {
        guard strncmp(UnsafeRawPointer(p + i).assumingMemoryBound(to: CChar.self), "INSERT INTO ", 12) == 0 else { return nil }
        i += 12
        guard name(p, &i) else { return nil }
        if p[i] == 0x28 {
            i += 1
            while true {
                guard name(p, &i) else { return nil }
                if p[i] == 0x29 { break }
                guard p[i] == 0x2C else { return nil }
                i += 1
            }
            i += 1
        }
        if p[i] == 0x20 { i += 1 }
        guard strncmp(UnsafeRawPointer(p + i).assumingMemoryBound(to: CChar.self), "VALUES(", 7) == 0 else { return nil }
        i += 6
        return i
    }

    /// A name: "quoted" ("" inside) or plain letters, digits and underscores.
    private static func name(_ p: UnsafePointer<UInt8>, _ i: inout Int) -> Bool {
        if p[i] == 0x22 {
            i += 1
            while true {
                guard p[i] != 0 else { return false }
                if p[i] == 0x22 {
                    if p[i + 1] != 0x22 { break }
                    i += 1
                }
                i += 1
            }
            i += 1
            return true
        }
        let first = i
        while isWordByte(p[i]) { i += 1 }
        return i > first && !(p[first] >= 0x30 && p[first] <= 0x39)
    }

    @inline(__always)
    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    /// One `(v,v,…)` at `i`; with `bind`, its values are kept in `values` for `step`.
    private func parseRow(_ p: UnsafePointer<UInt8>, _ i: inout Int, bind: Bool) -> Bool {
        guard p[i] == 0x28 else { return false }
        i += 1
        var n = 0
        while true {
            var v = Value()
            guard literal(p, &i, &v, decode: bind) else { return false }
            if bind {
                if n < values.count { values[n] = v } else { values.append(v) }
            }
            n += 1
            if p[i] == 0x29 { break }
            guard p[i] == 0x2C else { return false }
            i += 1
        }
        i += 1
        if bind { values.removeLast(values.count - n) }
        return true
    }

    private func literal(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ v: inout Value, decode: Bool) -> Bool {
        let b = p[i]
        switch b {
        case 0x27:
            return text(p, &i, &v, decode: decode)
        case 0x58 where p[i + 1] == 0x27, 0x78 where p[i + 1] == 0x27:
            return blob(p, &i, &v, decode: decode)
        case 0x4E, 0x6E:
            guard strncasecmp(UnsafeRawPointer(p + i).assumingMemoryBound(to: CChar.self), "NULL", 4) == 0, !Self.isWordByte(p[i + 4]) else { return false }
            i += 4
            v.kind = .null
            return true
        case 0x2D, 0x2E, 0x30...0x39:
            return number(p, &i, &v)
        default:
            return false
        }
    }

    /// '…' with '' for a quote: its bytes, in place when no quote was doubled.
    private func text(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ v: inout Value, decode: Bool) -> Bool {
        let first = i + 1
        var j = first
        var doubled = false
        while true {
            guard let q = strchr(UnsafeRawPointer(p + j).assumingMemoryBound(to: CChar.self), 0x27) else { return false }
            j = UnsafeRawPointer(q) - UnsafeRawPointer(p)
            if p[j + 1] != 0x27 { break }
            doubled = true
            j += 2
        }
        v.kind = .text
        if decode {
            if doubled {
                v.offset = scratchUsed
                reserve(j - first)
                var k = first
                while k < j {
                    scratch[scratchUsed] = p[k]
                    scratchUsed += 1
                    k += p[k] == 0x27 ? 2 : 1
                }
                v.length = scratchUsed - v.offset
            } else {
                v.start = p + first
                v.length = j - first
            }
        }
        i = j + 1
        return true
    }

    /// X'hex': its bytes, decoded into the scratch buffer.
    private func blob(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ v: inout Value, decode: Bool) -> Bool {
        let first = i + 2
        var j = first
        while Self.nibble(p[j]) != nil { j += 1 }
        guard p[j] == 0x27, (j - first) % 2 == 0 else { return false }
        v.kind = .blob
        if decode {
            v.offset = scratchUsed
            v.length = (j - first) / 2
            reserve(v.length)
            var k = first
            while k < j {
                scratch[scratchUsed] = Self.nibble(p[k])! << 4 | Self.nibble(p[k + 1])!
                scratchUsed += 1
                k += 2
            }
        }
        i = j + 1
        return true
    }

    @inline(__always)
    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x57
        case 0x41...0x46: return c - 0x37
        default: return nil
        }
    }

    /// An integer that fits 64 bits, or a real ([-]digits[.digits][e[+-]digits], a digit in the
    /// significand); a hex integer, a larger integer or a negative zero is not taken.
    private func number(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ v: inout Value) -> Bool {
        var j = i
        let negative = p[j] == 0x2D
        if negative { j += 1 }
        let digitsStart = j
        var magnitude: UInt64 = 0
        var overflow = false
        var nonzero = false
        while p[j] >= 0x30 && p[j] <= 0x39 {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(p[j] - 0x30))
            overflow = overflow || o1 || o2
            magnitude = m2
            nonzero = nonzero || p[j] != 0x30
            j += 1
        }
        var digits = j - digitsStart
        var isReal = false
        if p[j] == 0x2E {
            isReal = true
            j += 1
            while p[j] >= 0x30 && p[j] <= 0x39 {
                nonzero = nonzero || p[j] != 0x30
                digits += 1
                j += 1
            }
        }
        guard digits > 0 else { return false }
        if p[j] == 0x65 || p[j] == 0x45 {
            isReal = true
            j += 1
            if p[j] == 0x2B || p[j] == 0x2D { j += 1 }
            let e = j
            while p[j] >= 0x30 && p[j] <= 0x39 { j += 1 }
            guard j > e else { return false }
        }
        guard !Self.isWordByte(p[j]) && p[j] != 0x2E else { return false }
        if isReal {
            guard nonzero || !negative else { return false }
            v.kind = negative ? .negativeReal : .real
            v.start = p + digitsStart
            v.length = j - digitsStart
        } else {
            guard !overflow, magnitude <= UInt64(Int64.max) || (negative && magnitude == UInt64(Int64.max) + 1) else { return false }
            v.kind = .integer
            v.integer = negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
        }
        i = j
        return true
    }

    private func reserve(_ n: Int) {
        guard scratchUsed + n > scratchCapacity else { return }
        while scratchUsed + n > scratchCapacity { scratchCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCapacity)
        bigger.update(from: scratch, count: scratchUsed)
        scratch.deallocate()
        scratch = bigger
    }

    /// Binds the row in `values` to the statement for its shape and runs it.
    private func step(prefix: UnsafePointer<UInt8>, count: Int) throws(EngineError) {
        let statement = try prepared(prefix: prefix, count: count)
        for (index, v) in values.enumerated() {
            let n = Int32(index + 1)
            let rc: Int32
            switch v.kind {
            case .null: rc = sqlite3_bind_null(statement, n)
            case .integer: rc = sqlite3_bind_int64(statement, n, v.integer)
            case .real, .negativeReal, .text:
                let bytes = v.offset >= 0 ? UnsafePointer(scratch + v.offset) : v.start
                rc = bytes.map { b in
                    b.withMemoryRebound(to: CChar.self, capacity: max(v.length, 1)) { sqlite3_bind_text(statement, n, $0, Int32(v.length), nil) }
                } ?? sqlite3_bind_text(statement, n, "", 0, nil)
            case .blob:
                rc = sqlite3_bind_blob(statement, n, v.length > 0 ? UnsafeRawPointer(scratch + v.offset) : UnsafeRawPointer(scratch), Int32(v.length), nil)
            }
            guard rc == SQLITE_OK else { throw failure(rc) }
        }
        let rc = sqlite3_step(statement)
        let error = rc == SQLITE_DONE ? nil : failure(rc)
        sqlite3_reset(statement)
        if let error { throw error }
    }

    private func failure(_ rc: Int32) -> EngineError {
        .sqlite(path: "", code: rc, message: String(cString: sqlite3_errmsg(db)))
    }

    /// The prepared INSERT for `prefix` (`INSERT INTO … VALUES`) and the kinds of `values`.
    private func prepared(prefix: UnsafePointer<UInt8>, count: Int) throws(EngineError) -> OpaquePointer {
        key.removeAll(keepingCapacity: true)
        key.append(contentsOf: UnsafeBufferPointer(start: prefix, count: count))
        for v in values { key.append(v.kind == .real ? 1 : v.kind == .negativeReal ? 2 : 0) }
        if let lastStatement, key == lastKey { return lastStatement }
        if let s = statements[key] {
            lastKey = key
            lastStatement = s
            return s
        }
        var sql = String(decoding: UnsafeBufferPointer(start: prefix, count: count), as: UTF8.self) + "("
        for (index, v) in values.enumerated() {
            if index > 0 { sql += "," }
            switch v.kind {
            case .real: sql += "CAST(?\(index + 1) AS REAL)"
            case .negativeReal: sql += "-CAST(?\(index + 1) AS REAL)"
            default: sql += "?\(index + 1)"
            }
        }
        sql += ")"
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc) }
        statements[key] = statement
        lastKey = key
        lastStatement = statement
        return statement
    }
}
