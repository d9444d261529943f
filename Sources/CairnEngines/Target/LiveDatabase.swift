import Foundation
import CairnFormats
import CairnCatalog

/// Checks and operations on the live database before Cairn replaces it.
package enum LiveDatabase {
    /// Processes other than this one that have `path` (or its WAL) open, found through /proc.
    package static func openers(of path: String) -> [(pid: Int32, name: String)] {
        var targets: [(UInt64, UInt64)] = []
        for p in [path, path + "-wal"] {
            var st = stat()
            if stat(p, &st) == 0 { targets.append((UInt64(st.st_dev), UInt64(st.st_ino))) }
        }
        guard !targets.isEmpty else { return [] }
        let me = getpid()
        var found: [(Int32, String)] = []
        for entry in FileSystem.list("/proc") {
            guard let pid = Int32(entry), pid != me else { continue }
            let fdDir = "/proc/\(entry)/fd"
            for fd in FileSystem.list(fdDir) {
                var st = stat()
                if stat(fdDir + "/" + fd, &st) == 0, targets.contains(where: { $0.0 == UInt64(st.st_dev) && $0.1 == UInt64(st.st_ino) }) {
                    let comm = (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                    found.append((pid, comm))
                    break
                }
            }
        }
        return found
    }

    package static func ensureNotOpenElsewhere(_ path: String) throws(EngineError) {
        let users = openers(of: path)
        if !users.isEmpty {
            let list = users.map { "process \($0.pid) (\($0.name))" }.joined(separator: ", ")
            throw .databaseBusy(path: path, detail: "open in \(list)")
        }
    }

    /// Copies every WAL frame into the database file and empties the WAL.
    package static func checkpointCompletely(_ path: String) throws(EngineError) {
        guard FileSystem.exists(path + "-wal") else { return }
        let c = try SQLiteConnection(path: path, busyTimeoutMs: 5_000)
        defer { c.close() }
        let row = try c.rows("PRAGMA wal_checkpoint(TRUNCATE)").first ?? []
        if row.first ?? "1" != "0" {
            throw .databaseBusy(path: path, detail: "the WAL could not be checkpointed completely")
        }
    }

    /// Keeps a damaged live database (and its WAL) under a dated name before it is replaced.
    package static func setAside(_ path: String) throws(EngineError) {
        let stamp = Int(Date().timeIntervalSince1970)
        let aside = path + ".cairn-replaced-\(stamp)"
        if link(path, aside) != 0 { throw EngineError.fromErrno("keep the replaced database as", aside, errno) }
        if FileSystem.exists(path + "-wal") { try FileSystem.rename(path + "-wal", aside + "-wal") }
        try FileSystem.fsyncDirectory(FileSystem.parent(of: path))
    }
}

extension EngineError {
    /// SQLite could not read the file as a database (SQLITE_CORRUPT or SQLITE_NOTADB).
    var isDamagedDatabase: Bool {
        if case let .sqlite(_, code, _) = self { return code == 11 || code == 26 }
        return false
    }
}

extension LiveDatabase {
    /// Puts the database in WAL mode (a header change SQLite makes; no rows or schema change).
    package static func enableWAL(_ path: String) throws(EngineError) {
        let c = try SQLiteConnection(path: path)
        defer { c.close() }
        let mode = try c.scalar("PRAGMA journal_mode=WAL")?.lowercased()
        if mode != "wal" {
            throw .notWALCapable(path: path, reason: "SQLite kept journal mode \(mode ?? "unknown")")
        }
    }
}
