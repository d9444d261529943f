import CairnFormats
import CairnCatalog

/// The fields of SQLite's 100-byte database header that Cairn uses.
package struct DatabaseHeader: Sendable, Equatable {
    package static let magic: [UInt8] = Array("SQLite format 3\0".utf8)
    package let pageSize: Int
    package let writeVersion: UInt8
    package let readVersion: UInt8
    package let changeCounter: UInt32
    package let pageCountField: UInt32
    package let versionValidFor: UInt32

    /// True when the header's page count is current (SQLite updates it together with the counter).
    package var pageCountIsValid: Bool { pageCountField > 0 && versionValidFor == changeCounter }
    package var isWAL: Bool { writeVersion == 2 && readVersion == 2 }

    package init(bytes p: UnsafeRawPointer, count: Int, file: String) throws(EngineError) {
        guard count >= 100 else {
            throw .notSQLite(path: file, reason: count == 0 ? "the file is empty" : "only \(count) bytes, shorter than a SQLite header")
        }
        for i in 0..<16 where p.load(fromByteOffset: i, as: UInt8.self) != DatabaseHeader.magic[i] {
            throw .notSQLite(path: file, reason: "the file does not start with the SQLite header string")
        }
        let raw = Int(LE.getBE16(p, 16))
        let size = raw == 1 ? 65536 : raw
        guard size >= 512, size <= 65536, size & (size - 1) == 0 else {
            throw .notSQLite(path: file, reason: "invalid page size \(raw) in the header")
        }
        pageSize = size
        writeVersion = p.load(fromByteOffset: 18, as: UInt8.self)
        readVersion = p.load(fromByteOffset: 19, as: UInt8.self)
        changeCounter = LE.getBE32(p, 24)
        pageCountField = LE.getBE32(p, 28)
        versionValidFor = LE.getBE32(p, 92)
    }

    /// Reads and checks the header of the file at `path`.
    package static func read(_ path: String) throws(EngineError) -> DatabaseHeader {
        let f: RawFile
        do throws(EngineError) { f = try SharedFiles.reader(path) } catch {
            if case .missingFile = error { throw .databaseMissing(path: path) }
            throw error
        }
        var buf = [UInt8](repeating: 0, count: 100)
        let n = try buf.withMutableBytes { (b, count) throws(EngineError) -> Int in
            try f.read(into: b, count: count, at: 0)
        }
        return try buf.withBytes { (b, _) throws(EngineError) -> DatabaseHeader in
            try DatabaseHeader(bytes: b, count: n, file: path)
        }
    }
}
