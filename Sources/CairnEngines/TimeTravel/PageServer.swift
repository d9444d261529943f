import CSQLite
import CSQLiteShim
import CairnFormats

/// Serves a `PageSource` to SQLite as the bytes of a database file, through the
/// "cairn-pages" VFS (`CairnPagesVFS.c`): the context its C callbacks reach. It turns
/// SQLite's reads (whole pages at page-aligned offsets, and a few partial reads such as the
/// 100-byte header) into page reads, and keeps the first failure of the source since
/// `resetFailure()` so the connection can rethrow it instead of SQLite's "disk I/O error".
///
/// Used by the one thread that uses its connection; the C side keeps an unretained pointer
/// to it, so it must outlive every connection that opened `name` (see `AsOfConnection`).
final class PageServer {
    /// SQLITE_IOERR_READ and SQLITE_IOERR_SHORT_READ (macros Swift does not import).
    static let readFailed = SQLITE_IOERR | (1 << 8)
    static let shortRead = SQLITE_IOERR | (2 << 8)
    let source: any PageSource
    /// The source's first failure since the last `resetFailure()`.
    private(set) var failure: PageSourceFailure?
    /// Why the authorizer last refused an action (see `ReadOnlyPolicy`).
    var refusal: String?
    /// A page, for reads that cover part of one.
    private let scratch: UnsafeMutableRawPointer
    /// What the C VFS calls; its `name` is the file name to open once attached.
    private let entry: UnsafeMutablePointer<cairn_page_source>

    init(source: any PageSource) {
        self.source = source
        scratch = .allocate(byteCount: source.pageSize, alignment: 16)
        entry = .allocate(capacity: 1)
        entry.initialize(to: cairn_page_source())
        entry.pointee.read = { context, buffer, amount, offset in
            guard let context, let buffer, amount >= 0, offset >= 0 else { return PageServer.readFailed }
            return Unmanaged<PageServer>.fromOpaque(context).takeUnretainedValue().serve(into: buffer, amount: Int(amount), offset: offset)
        }
        entry.pointee.size = { context in
            guard let context else { return 0 }
            let source = Unmanaged<PageServer>.fromOpaque(context).takeUnretainedValue().source
            return sqlite3_int64(source.pageCount) * sqlite3_int64(source.pageSize)
        }
        entry.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        cairn_pages_detach(entry)
        entry.deinitialize(count: 1)
        entry.deallocate()
        scratch.deallocate()
    }

    /// Registers the VFS (once per process) and this server's file name; returns the name.
    func attach() throws(EngineError) -> String {
        let rc = cairn_pages_register_vfs()
        guard rc == SQLITE_OK else { throw .sqlite(path: CAIRN_PAGES_VFS, code: rc, message: "the cairn-pages VFS could not be registered") }
        cairn_pages_attach(entry)
        return withUnsafeBytes(of: &entry.pointee.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Makes the name unknown to the VFS again (also done on deinit).
    func detach() {
        cairn_pages_detach(entry)
    }

    func resetFailure() {
        failure = nil
        refusal = nil
    }

    /// Fills `amount` bytes at `offset` of the file from the pages covering them: what lies
    /// past the last page reads as zeros and the read is short.
    func serve(into buffer: UnsafeMutableRawPointer, amount: Int, offset: Int64) -> Int32 {
        let size = source.pageSize
        let pages = Int64(source.pageCount)
        var done = 0
        while done < amount {
            let position = offset + Int64(done)
            let index = position / Int64(size)
            let within = Int(position % Int64(size))
            let count = min(size - within, amount - done)
            guard index < pages else {
                (buffer + done).initializeMemory(as: UInt8.self, repeating: 0, count: amount - done)
                return PageServer.shortRead
            }
            let pgno = UInt32(index + 1)
            do throws(EngineError) {
                if within == 0 && count == size {
                    try source.read(pgno, into: buffer + done)
                } else {
                    try source.read(pgno, into: scratch)
                    (buffer + done).copyMemory(from: scratch + within, byteCount: count)
                }
            } catch {
                if failure == nil { failure = PageSourceFailure(page: pgno, error: error) }
                return PageServer.readFailed
            }
            done += count
        }
        return SQLITE_OK
    }
}
