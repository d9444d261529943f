import CSQLite
import CXXHash
import Foundation
import CairnFormats
import CairnCatalog

/// A digest of a database's logical content: every table's rows in key order, each value
/// with its type. Two databases with the same digest hold the same data. Used as the proof
/// that a restore equals its source.
package enum ContentDigest {
    package struct Result: Sendable, Codable, Equatable {
        package let digest: String
        package let tables: Int
        package let rows: Int
    }

    package static func compute(_ path: String) throws(EngineError) -> Result {
        guard FileSystem.exists(path) else { throw .databaseMissing(path: path) }
        _ = try DatabaseHeader.read(path)
        let c = try SQLiteConnection(path: path, readOnly: true)
        defer { c.close() }
        let state = XXH3_createState()!
        defer { XXH3_freeState(state) }
        XXH3_128bits_reset(state)
        func feed(_ p: UnsafeRawPointer?, _ n: Int) { if n > 0 { XXH3_128bits_update(state, p, n) } }
        func feed(_ s: String) { var s = s; s.withUTF8 { feed($0.baseAddress, $0.count) } }
        func feed(_ v: UInt64) { var v = v.littleEndian; withUnsafeBytes(of: &v) { feed($0.baseAddress, 8) } }

        try c.exec("BEGIN")
        defer { try? c.exec("ROLLBACK") }
        let tables = try c.rows("SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        var rows = 0
        for t in tables {
            let name = t[0] ?? ""
            feed("table:" + name + "\n" + (t[1] ?? "") + "\n")
            let withoutRowid = (t[1] ?? "").uppercased().contains("WITHOUT ROWID")
            let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let order = withoutRowid ? "" : " ORDER BY rowid"
            try c.forEachRow("SELECT * FROM \(quoted)\(order)") { stmt in
                rows += 1
                for i in 0..<sqlite3_column_count(stmt) {
                    let type = sqlite3_column_type(stmt, i)
                    feed(UInt64(type))
                    switch type {
                    case SQLITE_INTEGER: feed(UInt64(bitPattern: sqlite3_column_int64(stmt, i)))
                    case SQLITE_FLOAT: feed(sqlite3_column_double(stmt, i).bitPattern)
                    case SQLITE_NULL: break
                    default:
                        let p = sqlite3_column_blob(stmt, i)
                        let n = Int(sqlite3_column_bytes(stmt, i))
                        feed(UInt64(n))
                        feed(p, n)
                    }
                }
            }
        }
        let h = XXH3_128bits_digest(state)
        return Result(digest: Hash.hex(h.high64) + Hash.hex(h.low64), tables: tables.count, rows: rows)
    }
}
