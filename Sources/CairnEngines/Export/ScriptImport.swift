import CSQLite
import CairnFormats

/// What an import did.
package struct ImportSummary: Sendable, Codable, Equatable {
    package let script: String
    package let database: String
    /// Statements run (transaction control statements of the script left out).
    package let statements: Int
    /// Rows inserted, updated or deleted.
    package let changes: Int64
    package let bytes: UInt64
}

/// `cairn import`: runs a SQL script (as `cairn export --format sql` or the sqlite3 shell's
/// `.dump` writes it) into a new database, fast and all or nothing. The database is built under a
/// temporary name beside the target, in one transaction with no journal, no syncing and a large
/// page cache (nothing in it is worth keeping until it is complete), then made durable and
/// renamed to the target; an existing target is refused unless `force`. The script's own BEGIN
/// and COMMIT are taken as that one transaction; a ROLLBACK in it fails the import. A statement
/// that fails stops the import, named by its line, and nothing is left behind. The new file is
/// no more readable than the script.
package enum ScriptImport {
    static let prefix = ".cairn-import"
    static let cacheKiB = 262_144

    package static func run(script: String, to target: String, force: Bool, monitor: OperationMonitor) throws(EngineError) -> ImportSummary {
        guard FileSystem.exists(script) else { throw .missingFile(path: script, detail: "no SQL script there to import") }
        if !force && FileSystem.exists(target) { throw .targetExists(path: target) }
        if FileSystem.isDirectory(target) { throw .invalidArgument("\(target) is a directory; give the path of the database file to create with --to.") }
        let window = try ScriptWindow(path: script)
        let staged = try StagedFile(target: target, prefix: prefix, mode: FileMode.of(file: script) ?? .ownerOnly)
        do throws(EngineError) {
            let runner = try ScriptRunner(path: staged.temporary, script: script, cacheKiB: cacheKiB)
            var progress = ExportProgress(label: "import", totalBytes: window.size, monitor: monitor)
            let (statements, changes) = try runner.run(window, &progress)
            progress.finish()
            try staged.commit(replace: force)
            return ImportSummary(script: script, database: target, statements: statements, changes: changes, bytes: window.size)
        } catch {
            staged.discard()
            throw error
        }
    }
}
