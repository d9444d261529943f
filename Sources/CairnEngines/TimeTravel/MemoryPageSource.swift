import CairnFormats

/// The pages of a database held in memory (the bytes of a database file): for tests, and
/// for small databases assembled by code.
package final class MemoryPageSource: PageSource {
    package let pageSize: Int
    package let pageCount: UInt32
    private let bytes: [UInt8]

    /// `bytes` as a database file would hold them; the page size comes from its header
    /// (`name` is what an error calls it), a last partial page reads zero-filled.
    package init(bytes: [UInt8], name: String = "the in-memory database") throws(EngineError) {
        let parsed = bytes.withUnsafeBytes { b -> Result<DatabaseHeader, EngineError> in
            guard let base = b.baseAddress else { return .failure(.notSQLite(path: name, reason: "the file is empty")) }
            return Result { () throws(EngineError) in try DatabaseHeader(bytes: base, count: b.count, file: name) }
        }
        let header = try parsed.get()
        let pages = (bytes.count + header.pageSize - 1) / header.pageSize
        guard pages <= Int(UInt32.max) else { throw .notSQLite(path: name, reason: "\(pages) pages, more than a SQLite database can hold") }
        self.bytes = bytes
        pageSize = header.pageSize
        pageCount = UInt32(pages)
    }

    package func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        let start = (Int(pgno) - 1) * pageSize
        let available = pgno == 0 ? 0 : max(0, min(pageSize, bytes.count - start))
        if available > 0 {
            bytes.withUnsafeBytes { b in
                if let base = b.baseAddress { buffer.copyMemory(from: base + start, byteCount: available) }
            }
        }
        if available < pageSize { (buffer + available).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - available) }
    }
}
