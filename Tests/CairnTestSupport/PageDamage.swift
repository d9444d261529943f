import Foundation
import Testing

/// Damage done to pages of a database file (or its WAL) behind SQLite's back, as a failing
/// disk or a stray write would.
package enum PageDamage {
    /// The leaf pages of `table`'s b-tree in key order, as SQLite's dbstat lists them.
    package static func leafPages(_ db: String, table: String) -> [UInt32] {
        let r = Shell.run(["sqlite3", "-batch", db, "SELECT pageno FROM dbstat WHERE name='\(table)' AND pagetype='leaf' ORDER BY path"])
        return r.stdout.split(separator: "\n").compactMap { UInt32($0) }
    }

    /// Overwrites 64 bytes at a random place of each page of the database file with bytes
    /// that differ from what is there.
    package static func damage<G: RandomNumberGenerator>(_ db: String, pages: [UInt32], pageSize: Int = 4096, using rng: inout G) {
        let fd = open(db, O_RDWR)
        precondition(fd >= 0, "open \(db)")
        defer { close(fd) }
        for pgno in pages {
            let at = off_t(Int(pgno - 1) * pageSize + Int.random(in: 200..<(pageSize - 64), using: &rng))
            scramble(fd, at: at, count: 64)
        }
        fsync(fd)
    }

    /// Flips every bit of `count` bytes at `at` of an open file.
    package static func scramble(_ fd: Int32, at: off_t, count: Int) {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(pread(fd, &bytes, count, at) == count)
        for i in bytes.indices { bytes[i] ^= 0xff }
        precondition(pwrite(fd, bytes, count, at) == count)
    }

    /// The committed WAL frames of the current generation and, for each page, its newest one.
    package static func walFrames(_ db: String, pageSize: Int = 4096) -> [UInt32: UInt32] {
        guard let data = FileManager.default.contents(atPath: db + "-wal"), data.count >= 32 else { return [:] }
        let bytes = [UInt8](data)
        func be32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let salts = (be32(16), be32(20))
        var latest: [UInt32: UInt32] = [:]
        var frame: UInt32 = 1
        while 32 + Int(frame) * (24 + pageSize) <= bytes.count {
            let at = 32 + Int(frame - 1) * (24 + pageSize)
            guard (be32(at + 8), be32(at + 12)) == salts else { break }
            latest[be32(at)] = frame
            frame += 1
        }
        return latest
    }

    /// Damages the content of WAL frame `frame`.
    package static func damageWALFrame(_ db: String, frame: UInt32, pageSize: Int = 4096) {
        let fd = open(db + "-wal", O_RDWR)
        precondition(fd >= 0)
        defer { close(fd) }
        scramble(fd, at: off_t(32 + Int(frame - 1) * (24 + pageSize) + 24 + 1000), count: 64)
        fsync(fd)
    }

    /// The bytes of a file, to show it unchanged.
    package static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }
}
