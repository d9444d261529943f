import Foundation
import CairnFormats
import CairnCatalog

/// `cairn report schema`: the database's size and layout, its tables and indexes, and how
/// much of it each backup covers.
package struct SchemaReport: Sendable, Codable {
    package struct Object: Sendable, Codable, Equatable {
        package var name: String
        /// table or index.
        package var type: String
        /// The table an index belongs to (the table itself for a table).
        package var table: String
        /// Pages it uses (b-tree and overflow pages), from SQLite's dbstat table; nil when
        /// this SQLite has no dbstat.
        package var pages: UInt64?
    }

    package struct Backup: Sendable, Codable, Equatable {
        package var id: UInt64
        package var kind: String
        package var level: Int
        package var scn: UInt64
        package var incarnation: Int
        package var status: String
        /// Pages the backup stores (a level 1 stores only those changed since its parent).
        package var pagesStored: UInt64
        /// Pages of the database at the backup's SCN.
        package var pageCount: UInt32
        /// `pagesStored` as a share of the database's current page count.
        package var share: Double
        package var completedAt: Date
        package var tag: String?
    }

    package var database: String
    package var fileBytes: UInt64
    package var pageSize: Int
    package var pageCount: UInt64
    package var freePages: UInt64
    /// Whether per-object page counts could be read (SQLite's dbstat virtual table).
    package var pagesAvailable: Bool
    package var objects: [Object]
    package var backups: [Backup]
}

extension Catalog {
    /// Reads the database's layout through a read-only connection (nothing is written) and
    /// relates it to the recorded backups.
    package func schemaReport() throws(EngineError) -> SchemaReport {
        guard FileSystem.exists(databasePath) else { throw .databaseMissing(path: databasePath) }
        _ = try DatabaseHeader.read(databasePath)
        let conn = try SQLiteConnection(path: databasePath, readOnly: true)
        defer { conn.close() }
        try conn.exec("BEGIN")
        defer { try? conn.exec("ROLLBACK") }
        func number(_ sql: String) throws(EngineError) -> UInt64 { UInt64(try conn.scalar(sql) ?? "") ?? 0 }
        let pageSize = Int(try number("PRAGMA page_size"))
        let pageCount = try number("PRAGMA page_count")
        let freePages = try number("PRAGMA freelist_count")
        var objects = try conn.rows("SELECT name, type, tbl_name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY tbl_name, type DESC, name")
            .map { SchemaReport.Object(name: $0[0] ?? "", type: $0[1] ?? "", table: $0[2] ?? "", pages: nil) }
        objects.insert(.init(name: "sqlite_schema", type: "table", table: "sqlite_schema", pages: nil), at: 0)
        var pagesAvailable = false
        if let rows = try? conn.rows("SELECT name, count(*) FROM dbstat GROUP BY name") {
            pagesAvailable = true
            let counts = Dictionary(rows.compactMap { r in r[0].map { ($0, UInt64(r[1] ?? "") ?? 0) } }, uniquingKeysWith: +)
            for i in objects.indices { objects[i].pages = counts[objects[i].name] ?? 0 }
        }
        let backups = control.backups.filter(\.isDatabaseBackup).sorted { $0.id < $1.id }.map { b in
            let stored = b.pagesStored ?? UInt64(b.pageCount)
            return SchemaReport.Backup(id: b.id, kind: b.kind.rawValue, level: b.level, scn: b.scn, incarnation: b.incarnation,
                                       status: (b.status ?? .available).rawValue, pagesStored: stored, pageCount: b.pageCount,
                                       share: pageCount == 0 ? 0 : (Double(stored) / Double(pageCount) * 10_000).rounded() / 10_000,
                                       completedAt: b.completedAt, tag: b.tag)
        }
        return SchemaReport(database: databasePath, fileBytes: FileSystem.fileSize(databasePath) ?? 0, pageSize: pageSize,
                            pageCount: pageCount, freePages: freePages, pagesAvailable: pagesAvailable, objects: objects, backups: backups)
    }
}
