import CairnFormats

/// The pages of a SQLite database file as they are on disk (without its WAL), read with
/// pread on each request: no cache of its own, the kernel's page cache serves repeated reads.
/// For tests, and for serving a file with `AsOfConnection` without SQLite opening it.
package final class FilePageSource: PageSource {
    package let path: String
    package let pageSize: Int
    package let pageCount: UInt32
    private let file: RawFile

    /// Reads the page size from the file's header; the page count is the file's size in
    /// whole pages.
    package init(path: String) throws(EngineError) {
        let header = try DatabaseHeader.read(path)
        file = try RawFile(path: path, mode: .read)
        self.path = path
        pageSize = header.pageSize
        let pages = try file.size() / UInt64(header.pageSize)
        guard pages <= UInt64(UInt32.max) else {
            throw .notSQLite(path: path, reason: "\(pages) pages, more than a SQLite database can hold")
        }
        pageCount = UInt32(pages)
    }

    package func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        try file.readPage(pgno, pageSize: pageSize, into: buffer)
    }
}
