import CairnFormats

/// Reads page `pgno` (1-based) of one version of a database into `into` (page-size bytes); a
/// page past the end reads as zeros.
package typealias PageRead = (_ pgno: UInt32, _ into: UnsafeMutableRawPointer) throws(EngineError) -> Void

/// One version of a SQLite database seen page by page (from a backup, logs or a file), with
/// what its header says about how to read it: usable size (reserved bytes at offset 20), text
/// encoding (offset 56), auto-vacuum (offset 52).
package struct DatabasePages {
    /// What error messages call this version ("database as of SCN 42").
    package let name: String
    package let pageSize: Int
    package let pageCount: UInt32
    /// The page size less the reserved bytes at the end of every page.
    package let usable: Int
    package let encoding: TextEncoding
    /// Auto-vacuum or incremental vacuum: pointer-map pages exist.
    package let autovacuum: Bool
    let read: PageRead

    /// Reads page 1's header. An empty database (no page) reads as UTF-8 with no reserved bytes.
    package init(name: String, pageSize: Int, pageCount: UInt32, read: @escaping PageRead) throws(EngineError) {
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw .invalidArgument("\(name): \(pageSize) is not a SQLite page size")
        }
        self.name = name
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.read = read
        guard pageCount > 0 else {
            usable = pageSize
            encoding = .utf8
            autovacuum = false
            return
        }
        let page = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { page.deallocate() }
        try read(1, page)
        let magic = Array(UnsafeRawBufferPointer(start: page, count: 16))
        guard magic == Array("SQLite format 3\0".utf8) else { throw .notSQLite(path: name, reason: "page 1 does not start with the SQLite header") }
        let stated = Int(LE.getBE16(page, 16))
        guard (stated == 1 ? 65536 : stated) == pageSize else {
            throw .corrupt(file: name, offset: 16, detail: "the header gives page size \(stated == 1 ? 65536 : stated), not \(pageSize)")
        }
        let reserved = Int(page.load(fromByteOffset: 20, as: UInt8.self))
        guard pageSize - reserved >= 480 else { throw .corrupt(file: name, offset: 20, detail: "\(reserved) reserved bytes leave too few usable") }
        let code = LE.getBE32(page, 56)
        let stored: TextEncoding? = code == 0 ? .utf8 : TextEncoding(rawValue: UInt8(truncatingIfNeeded: code))
        guard let stored, code <= 3 else {
            throw .corrupt(file: name, offset: 56, detail: "unknown text encoding \(code)")
        }
        self.usable = pageSize - reserved
        self.encoding = stored
        self.autovacuum = LE.getBE32(page, 52) != 0
    }

    /// Reads `pgno`, which must be a page of this version.
    func load(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer, from referrer: String) throws(EngineError) {
        guard pgno >= 1, pgno <= pageCount else {
            throw .corrupt(file: name, offset: nil, detail: "\(referrer) points to page \(pgno), outside the database's \(pageCount) pages")
        }
        try read(pgno, buffer)
    }

    /// A corruption found at byte `offset` of page `pgno`.
    func corrupt(_ pgno: UInt32, _ offset: Int, _ detail: String) -> EngineError {
        .corrupt(file: name, offset: UInt64(pgno - 1) * UInt64(pageSize) + UInt64(max(offset, 0)), detail: "page \(pgno): " + detail)
    }

    /// A buffer for one page (the caller deallocates it).
    func allocatePage() -> UnsafeMutableRawPointer {
        .allocate(byteCount: pageSize, alignment: 16)
    }
}

/// The text encoding of a database (header offset 56).
package enum TextEncoding: UInt8, Sendable, Codable {
    case utf8 = 1
    case utf16le = 2
    case utf16be = 3

    /// The text stored in `bytes` (invalid sequences become U+FFFD).
    func string(_ bytes: UnsafeRawBufferPointer) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .utf16le, .utf16be:
            let n = bytes.count / 2
            var units = [UInt16](repeating: 0, count: n)
            for i in 0..<n {
                let a = UInt16(bytes[2 * i]), b = UInt16(bytes[2 * i + 1])
                units[i] = self == .utf16le ? a | b << 8 : a << 8 | b
            }
            return String(decoding: units, as: UTF16.self)
        }
    }
}
