import CSQLite
import CSystemShim
import Foundation
import CairnFormats
import CairnCatalog

/// Writes rebuilt pages into the live database while the application keeps its connections.
///
/// Under SQLite's write lock (no commit can happen) and the WAL's checkpoint lock (no
/// checkpoint can copy a page meanwhile), each page's current version is found where SQLite
/// readers find it: the newest committed WAL frame of the page, and the database file when
/// the page has no frame or that frame was already copied into it. A place is written only
/// while it still holds the damaged content seen by validation (a page rewritten since is
/// left alone), with one positional write of the whole page (a process killed at any instant
/// leaves the old page or the new one), then synced and read back. A frame rewritten with the
/// version it was committed with passes its WAL checksum again.
///
/// SQLite connections keep pages they read in a cache that they drop when the WAL index
/// changes; a connection that read a damaged page would keep it. So the writer then commits
/// one transaction that sets the header's user version to the value it has (from a cache just
/// emptied), which makes every connection read afresh.
struct LivePageWriter {
    let databasePath: String
    let pageSize: Int

    /// A page to write: its new content and the hash of the damaged content it replaces.
    struct Item {
        let pgno: UInt32
        let image: UnsafeRawPointer
        let expected: UInt64
        let damaged: UInt64
    }

    /// Where a page was written ("database file", "WAL frame N"), or why not.
    struct Written {
        var pgno: UInt32
        var places: [String] = []
        var skipped: String?
    }

    func write(_ items: [Item]) throws(EngineError) -> [Written] {
        let written: [Written]
        if let app = ApplicationWriters.writer(for: databasePath) {
            written = try app.withWriteLock(path: databasePath) { (_: OpaquePointer) throws(EngineError) -> [Written] in try underCheckpointLock(items) }
            try app.onWriter { (conn: OpaquePointer) throws(EngineError) in try Self.invalidateCaches(conn, path: databasePath) }
        } else {
            let connection = try SQLiteConnection(path: databasePath, busyTimeoutMs: 30_000)
            defer { connection.close() }
            try connection.exec("BEGIN IMMEDIATE")
            do throws(EngineError) {
                written = try underCheckpointLock(items)
            } catch {
                try? connection.exec("ROLLBACK")
                throw error
            }
            try connection.exec("ROLLBACK")
            try connection.withHandle { (conn: OpaquePointer) throws(EngineError) in try Self.invalidateCaches(conn, path: databasePath) }
        }
        return written
    }

    /// Takes the checkpoint lock of the WAL index (waiting for a running checkpoint to end),
    /// writes, and lets it go.
    private func underCheckpointLock(_ items: [Item]) throws(EngineError) -> [Written] {
        let (key, shm, database) = try WALPinDescriptors.take(databasePath)
        defer { WALPinDescriptors.giveBack(key, shm, database) }
        let byte = WALIndex.LockByte.checkpoint.rawValue
        let deadline = Date().addingTimeInterval(30)
        while cairn_ofd_lock(shm, byte, 1, 2) != 0 {
            guard Date() < deadline else {
                throw .databaseBusy(path: databasePath, detail: "a checkpoint held the WAL for 30 s; the pages were not repaired, try again")
            }
            usleep(1_000)
        }
        defer { _ = cairn_ofd_lock(shm, byte, 1, 0) }
        return try writePlaces(items, database: database)
    }

    private func writePlaces(_ items: [Item], database: Int32) throws(EngineError) -> [Written] {
        let index = try WALIndex(databasePath: databasePath).read()
        let wal = try index.map { (state: WALIndexState) throws(EngineError) -> WALScan in
            try WALFile.scan(path: databasePath + "-wal", through: state.mxFrame, lenient: true)
        }
        let frames = wal.flatMap { s in index.flatMap { s.header?.salt1 == $0.salt1 && s.header?.salt2 == $0.salt2 ? s.latestFrame : nil } } ?? [:]
        let walFile = frames.isEmpty ? nil : try RawFile(path: databasePath + "-wal", mode: .readWrite)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
        defer { buffer.deallocate() }
        var out: [Written] = []
        var places: [(fd: Int32, offset: UInt64, name: String, path: String, item: Item)] = []
        for item in items {
            var w = Written(pgno: item.pgno)
            var candidates: [(Int32, UInt64, String, String)] = []
            if let frame = frames[item.pgno], let walFile {
                candidates.append((walFile.fd, WALScan.frameOffset(frame, pageSize: pageSize) + UInt64(WALFile.frameHeaderSize), "WAL frame \(frame)", walFile.path))
            }
            if frames[item.pgno].map({ $0 <= (index?.nBackfill ?? 0) }) ?? true {
                candidates.append((database, UInt64(item.pgno - 1) * UInt64(pageSize), "database file", databasePath))
            }
            for (fd, offset, name, path) in candidates {
                // Past the end of a file cut short the page reads as zeros, as validation read it.
                let got = max(0, pread(fd, buffer, pageSize, off_t(offset)))
                if got < pageSize { memset(buffer + got, 0, pageSize - got) }
                let found = Hash.page(buffer, size: pageSize, pgno: item.pgno)
                if found == item.damaged { places.append((fd, offset, name, path, item)); w.places.append(name) }
            }
            if w.places.isEmpty { w.skipped = "its current content is no longer the damaged one seen (a commit rewrote it, or another repair did): validate again" }
            out.append(w)
        }
        for p in places {
            // (Tests slow or fail these writes through CAIRN_FAULTS, as every write of Cairn's.)
            if let e = FaultInjector.errno(.write, p.path) { throw EngineError.fromErrno("write page \(p.item.pgno) (\(p.name))", p.path, e) }
            guard pwrite(p.fd, p.item.image, pageSize, off_t(p.offset)) == pageSize else {
                throw EngineError.fromErrno("write page \(p.item.pgno) (\(p.name))", databasePath, errno)
            }
        }
        for fd in Set(places.map(\.fd)) where fsync(fd) != 0 { throw EngineError.fromErrno("fsync", databasePath, errno) }
        for p in places {
            guard pread(p.fd, buffer, pageSize, off_t(p.offset)) == pageSize, Hash.page(buffer, size: pageSize, pgno: p.item.pgno) == p.item.expected else {
                throw .verificationFailed(file: databasePath, detail: "page \(p.item.pgno) (\(p.name)) does not read back as the version written")
            }
        }
        return out
    }

    /// Commits the header's user version with its own value on a connection whose page cache
    /// was just emptied: the WAL index changes, so every connection drops its cached pages.
    static func invalidateCaches(_ conn: OpaquePointer, path: String) throws(EngineError) {
        sqlite3_db_release_memory(conn)
        func exec(_ sql: String) throws(EngineError) {
            let rc = sqlite3_exec(conn, sql, nil, nil, nil)
            if rc != SQLITE_OK { throw .sqlite(path: path, code: rc, message: String(cString: sqlite3_errmsg(conn))) }
        }
        try exec("BEGIN IMMEDIATE")
        do throws(EngineError) {
            var stmt: OpaquePointer?
            defer { sqlite3_finalize(stmt) }
            guard sqlite3_prepare_v2(conn, "PRAGMA user_version", -1, &stmt, nil) == SQLITE_OK, sqlite3_step(stmt) == SQLITE_ROW else {
                throw EngineError.sqlite(path: path, code: sqlite3_errcode(conn), message: String(cString: sqlite3_errmsg(conn)))
            }
            let version = sqlite3_column_int(stmt, 0)
            sqlite3_finalize(stmt)
            stmt = nil
            try exec("PRAGMA user_version = \(version)")
            try exec("COMMIT")
        } catch {
            sqlite3_exec(conn, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }
}
