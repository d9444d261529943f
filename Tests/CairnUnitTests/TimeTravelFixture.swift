import CSQLite
import CairnFormats
@testable import CairnEngines
import CairnTestSupport
import Foundation
import Testing

/// Databases built with the sqlite3 command-line shell, read back page by page with pread.
enum TimeTravelFixture {
    /// How a test database is made.
    struct Config: CustomStringConvertible, Sendable {
        var pageSize = 4096
        var wal = true
        var autoVacuum = "NONE"
        var encoding = "UTF-8"
        var reserved = 0

        var description: String { "\(pageSize)-byte pages, \(wal ? "WAL" : "rollback"), auto_vacuum \(autoVacuum), \(encoding), \(reserved) reserved" }

        /// The shell input that sets the database up, before any table.
        var setup: String {
            var s = reserved > 0 ? ".filectrl reserve_bytes \(reserved)\n" : ""
            s += "PRAGMA page_size=\(pageSize);\nPRAGMA auto_vacuum=\(autoVacuum);\nPRAGMA encoding='\(encoding)';\n"
            s += wal ? "PRAGMA journal_mode=WAL;\n" : "PRAGMA journal_mode=DELETE;\n"
            return s
        }
    }

    static let configs: [Config] = [
        Config(),
        Config(pageSize: 512, wal: false),
        Config(pageSize: 512, wal: true, autoVacuum: "FULL"),
        Config(pageSize: 4096, wal: false, autoVacuum: "INCREMENTAL", encoding: "UTF-16le"),
        Config(pageSize: 512, wal: true, encoding: "UTF-16be", reserved: 8),
        Config(pageSize: 4096, wal: true, autoVacuum: "FULL", reserved: 32),
    ]

    /// Runs `sql` in the shell on `db`, ending with a checkpoint so the file holds everything.
    static func run(_ db: String, _ sql: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let out = Shell.run(["sqlite3", "-batch", "-bail", db], input: sql + "\nPRAGMA wal_checkpoint(TRUNCATE);\n")
        #expect(out.status == 0 && out.stderr.isEmpty, "sqlite3 failed: \(out.stderr)", sourceLocation: sourceLocation)
    }

    /// The rows `sql` returns, as values.
    static func query(_ db: String, _ sql: String) throws -> [[SQLiteValue]] {
        let c = try SQLiteConnection(path: db, readOnly: true)
        defer { c.close() }
        var rows: [[SQLiteValue]] = []
        try c.forEachRow(sql) { stmt in
            rows.append((0..<sqlite3_column_count(stmt)).map { SQLiteValue(stmt, column: $0) })
        }
        return rows
    }

    /// The rows of table `layout` as SQL returns them (key, values), by key.
    static func expectedRows(_ db: String, _ layout: TableLayout) throws -> [[SQLiteValue]: [SQLiteValue]] {
        let cols = layout.columns.map(quoted).joined(separator: ", ")
        let keys = layout.withoutRowid ? layout.primaryKey.map(quoted).joined(separator: ", ") : "_rowid_"
        var out: [[SQLiteValue]: [SQLiteValue]] = [:]
        let n = layout.withoutRowid ? layout.primaryKey.count : 1
        for r in try query(db, "SELECT \(keys), \(cols) FROM \(quoted(layout.name))") { out[Array(r.prefix(n))] = Array(r.dropFirst(n)) }
        return out
    }

    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// One version of the database file `path`, read with pread (the file stays open with the source).
    static func source(_ path: String) throws -> DatabasePages {
        let file = try OpenFile(path)
        return try DatabasePages(name: path, pageSize: file.pageSize, pageCount: file.pageCount) { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            try file.read(pgno, into)
        }
    }

    /// An in-memory copy of a database file, damaged by the test, as a page source.
    static func source(bytes: [UInt8], pageSize: Int, name: String = "damaged") throws -> DatabasePages {
        try DatabasePages(name: name, pageSize: pageSize, pageCount: UInt32(bytes.count / pageSize)) { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            let start = Int(pgno - 1) * pageSize
            bytes.withUnsafeBytes { b in
                into.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
                if start + pageSize <= b.count { into.copyMemory(from: b.baseAddress! + start, byteCount: pageSize) }
            }
        }
    }

    /// The pages whose bytes differ between two files (a page past the end of one counts).
    static func changedPages(_ a: String, _ b: String, pageSize: Int) throws -> Set<UInt32> {
        let x = [UInt8](try Data(contentsOf: URL(fileURLWithPath: a))), y = [UInt8](try Data(contentsOf: URL(fileURLWithPath: b)))
        var out: Set<UInt32> = []
        for p in 0..<(max(x.count, y.count) / pageSize) {
            let r = p * pageSize..<(p + 1) * pageSize
            if r.upperBound > x.count || r.upperBound > y.count || x[r] != y[r] { out.insert(UInt32(p + 1)) }
        }
        return out
    }

    /// The page size a database file's header gives.
    static func pageSize(_ path: String) throws -> Int {
        let h = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(100))
        let s = Int(h[16]) << 8 | Int(h[17])
        return s == 1 ? 65536 : s
    }
}

/// A database file open for pread, closed with the last source using it.
final class OpenFile: @unchecked Sendable {
    let fd: Int32
    let pageSize: Int
    let pageCount: UInt32
    let path: String

    init(_ path: String) throws {
        self.path = path
        pageSize = try TimeTravelFixture.pageSize(path)
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw EngineError.io(operation: "open", path: path, errno: errno) }
        var st = stat()
        fstat(fd, &st)
        pageCount = UInt32(Int(st.st_size) / pageSize)
    }

    deinit { close(fd) }

    func read(_ pgno: UInt32, _ into: UnsafeMutableRawPointer) throws(EngineError) {
        into.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
        let n = pread(fd, into, pageSize, off_t(Int(pgno - 1) * pageSize))
        if n < 0 { throw .io(operation: "pread", path: path, errno: errno) }
    }
}
