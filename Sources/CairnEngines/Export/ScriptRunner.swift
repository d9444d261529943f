import CSQLite
import CairnFormats
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One SQLite connection running a script's statements into a new database file, with no
/// journal, no syncing, an exclusive lock and a large page cache, in one transaction that it
/// opens before the first statement that writes (pragmas before it, such as `encoding`, run on
/// their own). What each statement is comes from the authorizer while it is prepared.
final class ScriptRunner {
    enum Kind { case other, pragma, begin, commit, rollback }

    /// The authorizer's finding for the statement being prepared.
    private final class Finding { var kind = Kind.other }

    private var db: OpaquePointer?
    private let script: String
    private let finding = Finding()

    init(path: String, script: String, cacheKiB: Int) throws(EngineError) {
        self.script = script
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw .sqlite(path: path, code: rc, message: message)
        }
        db = handle
        let setup = "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-\(cacheKiB)"
        if sqlite3_exec(handle, setup, nil, nil, nil) != SQLITE_OK {
            let error = EngineError.sqlite(path: path, code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
            close()
            throw error
        }
        let context = Unmanaged.passUnretained(finding).toOpaque()
        sqlite3_set_authorizer(handle, { context, action, first, _, _, _ in
            guard let context else { return SQLITE_OK }
            let finding = Unmanaged<Finding>.fromOpaque(context).takeUnretainedValue()
            if action == SQLITE_TRANSACTION, let first {
                switch String(cString: first) {
                case "BEGIN": finding.kind = .begin
                case "COMMIT": finding.kind = .commit
                default: finding.kind = .rollback
                }
            } else if action == SQLITE_PRAGMA && finding.kind == .other {
                finding.kind = .pragma
            }
            return SQLITE_OK
        }, context)
    }

    deinit { close() }

    func close() {
        guard let handle = db else { return }
        db = nil
        sqlite3_close_v2(handle)
    }

    /// Runs every statement of the script; returns how many ran and the rows they changed.
    /// INSERTs of literal rows go through `LiteralInserts` (one compiled statement a table),
    /// every other statement through `sqlite3_prepare`. Closes the connection (the file is
    /// complete once this returns).
    func run(_ window: ScriptWindow, _ progress: inout ExportProgress) throws(EngineError) -> (statements: Int, changes: Int64) {
        defer { close() }
        guard let db else { throw .sqlite(path: script, code: SQLITE_MISUSE, message: "the connection is closed") }
        try window.refill(from: 0)
        let inserts = LiteralInserts(db: db)
        var position = 0, statements = 0, open = false
        while true {
            if position >= window.end {
                if window.atEnd { break }
                try window.refill(from: position)
                position = 0
                continue
            }
            let start = window.base + position
            let begin = { () throws(EngineError) in
                if !open { try self.exec(db, "BEGIN") }
                open = true
            }
            do throws(EngineError) {
                if let taken = try inserts.run(UnsafePointer(start), begin: begin) {
                    statements += 1
                    position += taken
                    try progress.update(window.offset + UInt64(position))
                    continue
                }
            } catch {
                if case .sqlite(_, _, let message) = error { throw failure(db, at: window.offset + UInt64(position), start, 0, message: message) }
                throw error
            }
            finding.kind = .other
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let rc = start.withMemoryRebound(to: CChar.self, capacity: window.end - position) { sqlite3_prepare_v2(db, $0, -1, &statement, &tail) }
            let next = tail.map { UnsafeRawPointer($0) - UnsafeRawPointer(window.base) } ?? window.end
            let cut = rc == SQLITE_OK ? next >= window.end : start.withMemoryRebound(to: CChar.self, capacity: 1) { sqlite3_complete($0) } == 0
            if cut && !window.atEnd {
                // The window may end inside this statement: read on from its start.
                sqlite3_finalize(statement)
                try window.refill(from: position, grow: position == 0)
                position = 0
                continue
            }
            guard rc == SQLITE_OK else { throw failure(db, at: window.offset + UInt64(position), start, 0) }
            if let statement {
                defer { sqlite3_finalize(statement) }
                switch finding.kind {
                case .begin, .commit:
                    break
                case .rollback:
                    throw .invalidArgument("\(script), line \(line(at: window.offset + UInt64(position))): the script rolls back (a script the sqlite3 shell wrote after errors ends so). Nothing was written.")
                case .pragma, .other:
                    if finding.kind == .other { try begin() }
                    try step(statement, db, at: window.offset + UInt64(position), start, next - position)
                    statements += 1
                }
            }
            position = next
            try progress.update(window.offset + UInt64(position))
        }
        if open { try exec(db, "COMMIT") }
        return (statements, sqlite3_total_changes64(db))
    }

    private func step(_ statement: OpaquePointer, _ db: OpaquePointer, at offset: UInt64, _ text: UnsafeMutablePointer<UInt8>, _ length: Int) throws(EngineError) {
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            if rc != SQLITE_ROW { throw failure(db, at: offset, text, length) }
        }
    }

    private func exec(_ db: OpaquePointer, _ sql: String) throws(EngineError) {
        if sqlite3_exec(db, sql, nil, nil, nil) != SQLITE_OK {
            throw .sqlite(path: script, code: sqlite3_errcode(db), message: String(cString: sqlite3_errmsg(db)))
        }
    }

    /// The failure of the statement at `offset` of the script (`length` bytes, or unknown when
    /// it did not parse): its line, SQLite's message, and the statement's beginning.
    private func failure(_ db: OpaquePointer, at offset: UInt64, _ text: UnsafeMutablePointer<UInt8>, _ length: Int, message: String? = nil) -> EngineError {
        let message = message ?? String(cString: sqlite3_errmsg(db))
        // The statement proper starts after the blank space that follows the one before it.
        var skip = 0
        while text[skip] == 0x20 || text[skip] == 0x0A || text[skip] == 0x0D || text[skip] == 0x09 { skip += 1 }
        let start = text + skip
        var size = length > skip ? length - skip : strlen(UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self))
        if length <= skip, let semicolon = memchr(start, 0x3B, size) { size = UnsafePointer(semicolon.assumingMemoryBound(to: UInt8.self)) - UnsafePointer(start) + 1 }
        let shown = min(size, 160)
        var excerpt = String(decoding: UnsafeBufferPointer(start: start, count: shown), as: UTF8.self)
        excerpt = excerpt.trimmingCharacters(in: .whitespacesAndNewlines)
        if size > shown { excerpt += "…" }
        return .invalidArgument("\(script), line \(line(at: offset + UInt64(skip))): \(message), in the statement `\(excerpt)`. Nothing was written; correct the script (or export it again) and run the command again.")
    }

    /// The line (from 1) of byte `offset` of the script.
    private func line(at offset: UInt64) -> Int {
        guard let f = try? RawFile(path: script, mode: .read) else { return 0 }
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var lines = 1
        var at: UInt64 = 0
        while at < offset {
            guard let n = try? f.read(into: buffer, count: Int(min(UInt64(chunk), offset - at)), at: at), n > 0 else { break }
            for i in 0..<n where buffer[i] == 0x0A { lines += 1 }
            at += UInt64(n)
        }
        return lines
    }
}
