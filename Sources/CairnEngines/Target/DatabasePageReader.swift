import CairnFormats

/// Reads pages of the database file as it is, for capture to store a page as a change
/// against the version the file holds: a page is handed out only when its hash is the one
/// asked for, so a page a checkpoint is rewriting, or a file replaced meanwhile, is never
/// taken for the version it is not. The file is read through the process's shared handle,
/// never opened and closed here (closing a descriptor of the database would drop the POSIX
/// locks of this process's SQLite connections, see `SharedFiles`).
final class DatabasePageReader {
    let pageSize: Int
    private let file: RawFile
    private let buffer: UnsafeMutableRawPointer

    init(path: String, pageSize: Int) throws(EngineError) {
        self.pageSize = pageSize
        file = try SharedFiles.reader(path)
        buffer = .allocate(byteCount: pageSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Page `pgno` as the file holds it (zeros past its end), when its page hash is `expected`.
    func page(_ pgno: UInt32, expected: UInt64) -> UnsafeRawPointer? {
        guard (try? file.readPage(pgno, pageSize: pageSize, into: buffer)) != nil else { return nil }
        return Hash.page(buffer, size: pageSize, pgno: pgno) == expected ? UnsafeRawPointer(buffer) : nil
    }
}
