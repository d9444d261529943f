import CSQLite

extension SQLiteValue {
    /// Column `index` of the row `statement` is on (text as UTF-8, whatever the database's encoding).
    package init(_ statement: OpaquePointer, column index: Int32) {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: self = .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: self = .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let text = sqlite3_column_text(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            self = .text(text.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? "")
        case SQLITE_BLOB:
            let blob = sqlite3_column_blob(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            self = .blob(blob.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? [])
        default: self = .null
        }
    }

    /// The values of the row `statement` is on.
    package static func row(_ statement: OpaquePointer) -> [SQLiteValue] {
        (0..<sqlite3_column_count(statement)).map { SQLiteValue(statement, column: $0) }
    }

    /// The result columns' names of `statement`.
    package static func columns(_ statement: OpaquePointer) -> [String] {
        (0..<sqlite3_column_count(statement)).map { sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? "" }
    }
}

/// What one statement returned: its columns' names and every row.
package struct QueryResult: Sendable, Equatable {
    package var columns: [String]
    package var rows: [[SQLiteValue]]

    package init(columns: [String], rows: [[SQLiteValue]] = []) {
        self.columns = columns
        self.rows = rows
    }
}

/// What a streamed query hands over, in order: for each statement, its columns, then its rows.
package enum QueryEvent: Sendable {
    /// Statement `index` (0-based, in the SQL's order) starts; these are its result columns.
    case statement(index: Int, columns: [String])
    case row([SQLiteValue])
}
