import Foundation
import CairnFormats

/// Where a database restored to a new file came from and the point it is at, kept beside it
/// (`FILE.cairn-point`) so that `cairn recover FILE` can roll it further forward later with
/// the logged transactions after that point. It holds paths and numbers only, no data.
package struct RestoredPoint: Codable, Sendable, Equatable {
    /// The protected database and its repository.
    package var database: String
    package var repository: String
    /// Restored from the repository alone (no control file: reopen it the same way).
    package var repositoryAlone: Bool
    package var dbid: String
    package var scn: UInt64
    package var incarnation: Int
    /// The file's database state checksum at `scn`: a file changed since does not match it.
    package var state: String

    /// The record's path for a restored file.
    package static func file(for path: String) -> String { path + ".cairn-point" }

    /// Writes the record beside `path` with `mode` (that of the files Cairn writes for the database).
    func write(for path: String, mode: FileMode) throws(EngineError) {
        try SideRecordFile.write(self, to: Self.file(for: path), mode: mode, what: "the restore point of \(path)")
    }

    /// The record beside `path`.
    package static func read(for path: String) throws(EngineError) -> RestoredPoint {
        let file = Self.file(for: path)
        guard FileSystem.exists(file) else {
            throw .invalidArgument("\(path) has no record of a Cairn restore beside it (\(file)), so where it came from and which point it is at are unknown. Restore it with `cairn restore DB --to \(path) --scn N` (which writes the record), then recover it further.")
        }
        guard let point = try? JSONDecoder().decode(RestoredPoint.self, from: Data(try FileSystem.readAll(file))) else {
            throw .corrupt(file: file, offset: nil, detail: "not a Cairn restore record; restore \(path) again")
        }
        return point
    }
}
