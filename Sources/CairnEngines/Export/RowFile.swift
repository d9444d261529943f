import CSQLite
import CairnFormats

/// A table written as one file of rows (CSV or JSON Lines): the query's column names first,
/// then each row as SQLite steps to it.
protocol RowFormat {
    /// Before the first row, once the query is prepared (its column names are known).
    mutating func begin(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError)
    func row(_ s: OpaquePointer, _ out: inout OutputBuffer) throws(EngineError)
}

extension RowFormat {
    /// Writes the rows of `scan`; returns how many.
    mutating func write(_ scan: TableScan, from source: ExportSource, _ out: inout OutputBuffer, _ progress: inout ExportProgress) throws(EngineError) -> Int {
        var rows = 0
        try source.withStatement(scan.select) { (s: OpaquePointer) throws(EngineError) in
            try begin(s, &out)
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else { throw source.stepFailure(rc) }
                try row(s, &out)
                rows += 1
                try progress.update(out.total)
            }
        }
        return rows
    }
}

/// The text of column `i`: in a UTF-8 database its bytes as stored (invalid UTF-8 and NUL
/// included, nothing converted); in a UTF-16 one, SQLite's conversion to UTF-8.
@inline(__always)
func textBytes(_ s: OpaquePointer, _ i: Int32, utf8Database: Bool) -> (UnsafePointer<UInt8>?, Int) {
    let p = utf8Database ? sqlite3_column_blob(s, i)?.assumingMemoryBound(to: UInt8.self) : sqlite3_column_text(s, i)
    return (p, Int(sqlite3_column_bytes(s, i)))
}
