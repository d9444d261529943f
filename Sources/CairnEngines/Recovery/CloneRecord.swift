import Foundation
import CairnFormats

/// What a clone is (`FILE.cairn-clone`, beside it): a copy of a protected database as of a
/// point, made a database of its own. It names the source and the point, and the DBID the
/// clone was given: `cairn init FILE` registers the clone under that DBID, never the
/// source's, so the two sets of backups and logs cannot be mixed up. Paths and numbers only.
package struct CloneRecord: Codable, Sendable, Equatable {
    /// The clone's own DBID.
    package var dbid: String
    /// The source database, its DBID, and the point the clone was made at.
    package var source: String
    package var sourceDbid: String
    package var scn: UInt64
    package var incarnation: Int
    package var createdAt: Date

    /// The record's path for a clone.
    package static func file(for path: String) -> String { path + ".cairn-clone" }

    /// A new random DBID (never 0).
    package static func newDbid() -> String {
        var dbid: UInt64 = 0
        while dbid == 0 { dbid = UInt64.random(in: 1...UInt64.max) }
        return String(dbid)
    }

    /// Writes the record beside `path` (atomically, durably) with `mode`.
    func write(for path: String, mode: FileMode) throws(EngineError) {
        try SideRecordFile.write(self, to: Self.file(for: path), mode: mode, what: "the clone record of \(path)")
    }

    /// The record beside `path`, or nil when there is none; a record that cannot be read is an error.
    package static func read(for path: String) throws(EngineError) -> CloneRecord? {
        let file = Self.file(for: path)
        guard FileSystem.exists(file) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let record = try? decoder.decode(CloneRecord.self, from: Data(try FileSystem.readAll(file))),
              UInt64(record.dbid).map({ $0 != 0 }) == true else {
            throw .corrupt(file: file, offset: nil, detail: "not a Cairn clone record; remove it to register \(path) as a database of its own with a new DBID")
        }
        return record
    }
}
