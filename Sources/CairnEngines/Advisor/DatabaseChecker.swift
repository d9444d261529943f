import Foundation
import CairnFormats
import CairnCatalog

/// The advisor's only look into the live database: a `stat`, and one read of its 100-byte
/// header (never a page).
enum LiveDatabaseProbe {
    static func header(_ path: String) throws(EngineError) -> DatabaseHeader {
        let f = try RawFile(path: path, mode: .read)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 8)
        defer { buf.deallocate() }
        let n = try f.read(into: buf, count: 100, at: 0)
        return try DatabaseHeader(bytes: UnsafeRawPointer(buf), count: n, file: path)
    }
}

/// "database": the live database is missing, is not a SQLite database (its header is
/// damaged), cannot be read, is not in WAL mode, or its WAL was deleted under the
/// connections that use it.
struct DatabaseChecker: FailureChecker {
    var name: String { "database" }

    func findings(_ ctx: AdvisorContext) -> [FailureFinding] {
        let db = ctx.db
        guard FileSystem.exists(db) else {
            return [FailureFinding(key: "missing", priority: .critical,
                                   summary: "the database \(db) is missing: the application cannot open it, and nothing can be captured", affected: db)]
        }
        let header: DatabaseHeader
        do throws(EngineError) { header = try LiveDatabaseProbe.header(db) } catch {
            if case .notSQLite = error {
                return [FailureFinding(key: "not-sqlite", priority: .critical,
                                       summary: "\(db) is no longer a SQLite database: \(error.description)", affected: db)]
            }
            return [FailureFinding(key: "unreadable", priority: .critical,
                                   summary: "the header of \(db) cannot be read: \(error.description)", affected: db)]
        }
        if !header.isWAL {
            return [FailureFinding(key: "not-wal", priority: .high,
                                   summary: "\(db) is not in WAL mode: its commits cannot be captured, and writes may overwrite pages in place before any log holds them", affected: db)]
        }
        let wal = db + "-wal"
        if !FileSystem.exists(wal) && (FileSystem.exists(db + "-shm") || (ctx.captureRunning && ctx.control.redo.mode == .archivelog)) {
            let why = ctx.captureRunning ? "a capture holds the database open, so SQLite keeps its WAL" : "its WAL index \(db)-shm is still there"
            return [FailureFinding(key: "wal-deleted", priority: .high,
                                   summary: "the WAL \(wal) was deleted while the database was in use (\(why)): transactions committed in it may be lost", affected: wal)]
        }
        return []
    }

    func options(for f: Failure, _ ctx: AdvisorContext) -> RepairOptions {
        let db = ctx.db
        switch f.key {
        case "missing":
            return RepairActions.options([
                "Check that \(db) was not moved or renamed (and that its file system is mounted).",
                "To bring it back as of the last captured transaction, run `cairn restore \(db) --in-place`; to look first, restore it elsewhere with `cairn restore \(db) --to PATH`.",
            ], RepairActions.restoreComplete(ctx))
        case "not-sqlite":
            return RepairActions.options([
                "Stop the programs that use \(db).",
                "Copy the damaged file away if you want to keep it, then run `cairn restore \(db) --in-place`: the database comes back as of the last captured transaction.",
            ], RepairActions.restoreComplete(ctx, keepingDamagedFile: true))
        case "unreadable":
            return .manualOnly([
                "Check the permissions of \(db) and the health of its disk (the kernel log names I/O errors).",
                "If the file is damaged, restore it with `cairn restore \(db) --in-place`.",
            ], because: "an unreadable file may be a permission or disk problem that a restore would hide; check it first")
        case "not-wal":
            return .manualOnly([
                "Stop the programs that use \(db), then run `sqlite3 \(db) 'PRAGMA journal_mode=WAL'` (WAL mode stays set in the file).",
                "Then restart capture (`cairn archive \(db) --follow`, or the agent) and take a level-0 backup with `cairn backup \(db)`.",
            ], because: "switching the journal mode needs every program that uses the database stopped, which Cairn cannot do for you")
        default:
            return .manualOnly([
                "Find what deleted \(db)-wal (a cleanup job, a copy of the database without its WAL) and stop it.",
                "Run `cairn status \(db)` to see what capture has; restart the application and capture (`cairn archive \(db) --follow`).",
                "Then take a level-0 backup with `cairn backup \(db)`, so that recovery does not depend on what the deleted WAL held.",
            ], because: "what the deleted WAL held cannot be brought back by Cairn beyond what capture already has")
        }
    }
}
