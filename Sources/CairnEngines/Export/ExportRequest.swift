import CairnFormats

/// What `cairn export` writes: one SQL script that rebuilds the database, or one CSV or JSON
/// Lines file a table.
package enum ExportFormat: String, Sendable, CaseIterable, Codable {
    case sql, csv, jsonl
}

/// An export: of which database, which tables (none: all), in which format, to where.
package struct ExportRequest: Sendable {
    package var database: String
    package var format: ExportFormat
    package var tables: [String]
    /// The file (SQL; CSV or JSON Lines of one table named) or the directory (one file a table).
    package var target: String
    /// Replace files that exist at the target.
    package var force: Bool
    /// How long to wait for a lock the application holds on the live database.
    package var busyTimeoutMs: Int32 = 60_000

    package init(database: String, format: ExportFormat, tables: [String], target: String, force: Bool) {
        self.database = database
        self.format = format
        self.tables = tables
        self.target = target
        self.force = force
    }
}

/// What an export wrote.
package struct ExportSummary: Sendable, Codable, Equatable {
    package struct Table: Sendable, Codable, Equatable {
        package let name: String
        package let rows: Int
        /// The table's own file (CSV, JSON Lines); nil in a SQL script.
        package let file: String?
    }

    package let database: String
    /// The SCN the export is as of; nil for the live database.
    package let scn: UInt64?
    package let format: ExportFormat
    package let tables: [Table]
    package let rows: Int
    package let bytes: UInt64
    package let files: [String]
}
