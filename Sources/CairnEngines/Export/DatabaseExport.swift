import CairnFormats
import CairnCatalog
#if canImport(Glibc)
import Glibc
#endif

/// `cairn export`: a database's tables written out logically, read from one consistent state
/// (the live file in one read transaction, or the database as of a point) with bounded memory:
/// rows go from SQLite's column accessors through one reused buffer to the file. Every file is
/// built under a temporary name and renamed only once all are complete and durable, no more
/// readable than the database; a target that exists is refused unless `force`.
package enum DatabaseExport {
    static let prefix = ".cairn-export"

    /// Exports the live database.
    package static func live(_ request: ExportRequest, monitor: OperationMonitor) throws(EngineError) -> ExportSummary {
        let source = try LiveExportSource(path: request.database, busyTimeoutMs: request.busyTimeoutMs)
        defer { source.close() }
        return try run(request, from: source, scn: nil, monitor: monitor)
    }

    static func run(_ request: ExportRequest, from source: ExportSource, scn: UInt64?, monitor: OperationMonitor) throws(EngineError) -> ExportSummary {
        let schema = try ExportSchema.read(source)
        let tables = try schema.select(request.tables, shadows: request.format == .sql, in: source.label)
        let mode = FileMode.of(file: request.database) ?? .ownerOnly
        var progress = ExportProgress(label: "export", totalBytes: 0, monitor: monitor)
        var written: [(file: StagedFile, bytes: UInt64)] = []
        var counts: [ExportSummary.Table] = []
        let layout = try OutputLayout(request, tables: tables.map(\.name), mode: mode)
        do throws(EngineError) {
            if request.format == .sql {
                let staged = try StagedFile(target: request.target, prefix: prefix, mode: mode)
                var out = OutputBuffer(file: staged.file)
                counts = try SQLScript(source: source, schema: schema, tables: tables, whole: request.tables.isEmpty).write(&out, &progress)
                try out.flush()
                written.append((staged, out.written))
            } else {
                for t in tables {
                    let target = layout.file(for: t.name)
                    let staged = try StagedFile(target: target, prefix: prefix, mode: mode)
                    var out = OutputBuffer(file: staged.file)
                    let scan = TableScan.visible(t.name)
                    let utf8 = schema.encoding == "UTF-8"
                    var format: any RowFormat = request.format == .csv ? CSVRows(utf8Database: utf8) : JSONLineRows(utf8Database: utf8)
                    let rows = try format.write(scan, from: source, &out, &progress)
                    try out.flush()
                    written.append((staged, out.written))
                    counts.append(ExportSummary.Table(name: t.name, rows: rows, file: target))
                }
            }
            for w in written { try w.file.commit(replace: request.force) }
        } catch {
            for w in written { w.file.discard() }
            layout.undo()
            throw error
        }
        progress.finish()
        return ExportSummary(database: request.database, scn: scn, format: request.format, tables: counts,
                             rows: counts.reduce(0) { $0 + $1.rows }, bytes: written.reduce(0) { $0 + $1.bytes },
                             files: written.map(\.file.target))
    }
}

extension Catalog {
    /// Exports the database as it was at `point`: its pages rebuilt from backups and logs, as
    /// `cairn query --as-of` reads them (nothing else is written anywhere).
    package func export(_ request: ExportRequest, asOf point: PointInTime, monitor: OperationMonitor) throws(EngineError) -> ExportSummary {
        let scn = try scn(of: point)
        let connection = try openAsOf(.scn(scn))
        defer { connection.close() }
        return try DatabaseExport.run(request, from: connection, scn: scn, monitor: monitor)
    }
}

/// Where an export's files go: the target itself (a SQL script; CSV or JSON Lines of the one
/// table named), or one file a table in the target directory, created when missing and named
/// after the table with every byte but letters, digits, '-', '_' and a '.' that does not
/// start the name written as %XX (so "a/b" is a%2Fb.csv). Files there are refused unless forced.
struct OutputLayout {
    let target: String
    let directory: String?
    let format: ExportFormat
    private let created: Bool

    init(_ request: ExportRequest, tables: [String], mode: FileMode) throws(EngineError) {
        target = request.target
        format = request.format
        let perTable = request.format != .sql && request.tables.count != 1
        directory = perTable ? request.target : nil
        if !perTable && FileSystem.isDirectory(target) {
            throw .invalidArgument("\(target) is a directory; give the path of the file to write with --to. Nothing was written.")
        }
        created = try Self.prepare(directory, format: format, mode: mode)
        let files = perTable ? tables.map(file(for:)) : [target]
        if !request.force, let existing = files.first(where: FileSystem.exists) {
            undo()
            throw .targetExists(path: existing)
        }
    }

    /// Checks the directory, creating it when missing (returns whether it did).
    private static func prepare(_ directory: String?, format: ExportFormat, mode: FileMode) throws(EngineError) -> Bool {
        guard let dir = directory else { return false }
        if FileSystem.isDirectory(dir) { return false }
        if FileSystem.exists(dir) {
            throw .invalidArgument("\(dir) is a file, and an export to \(format.rawValue) of several tables writes one file a table into a directory: give a directory with --to (or one --table to write one file). Nothing was written.")
        }
        let parent = FileSystem.parent(of: dir)
        guard FileSystem.isDirectory(parent) else {
            throw .invalidArgument("The directory \(parent) does not exist, so \(dir) cannot be created. Create it or choose another --to; nothing was written.")
        }
        if mkdir(dir, mode.directoryBits) != 0 { throw EngineError.fromErrno("create directory", dir, errno) }
        return true
    }

    /// The file `table` is written to.
    func file(for table: String) -> String {
        guard let directory else { return target }
        return directory + "/" + Self.fileName(table) + "." + format.rawValue
    }

    /// Removes the directory if this export created it (on failure: it is empty again by then).
    func undo() {
        if created, let directory { rmdir(directory) }
    }

    static func fileName(_ table: String) -> String {
        var name = ""
        for (i, b) in table.utf8.enumerated() {
            let plain = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || (b == 0x2E && i > 0)
            name += plain ? String(UnicodeScalar(b)) : "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }
        return name.isEmpty ? "%" : name
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
