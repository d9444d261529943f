import CairnFormats

/// The pages of a database as some code supplies them (rebuilt as of a past transaction, read
/// from a file, held in memory), for SQLite to read through an `AsOfConnection` without a copy
/// of the database being written anywhere.
///
/// A source is used by the thread that uses the connection over it, one call at a time; it
/// need not be `Sendable` (share one between connections only if it is safe to call from
/// several threads at once). It keeps whatever cache it needs: SQLite's own page cache for
/// the connection is bounded (see `AsOfConnection.cacheKiB`) and asks again for a page it
/// evicted.
package protocol PageSource: AnyObject {
    /// Bytes per page: a power of two from 512 to 65536, the one page 1's header states.
    var pageSize: Int { get }
    /// Pages in the database; SQLite sees a file of `pageCount × pageSize` bytes.
    var pageCount: UInt32 { get }
    /// Writes page `pgno` (1-based) into `buffer` (`pageSize` bytes); a page past
    /// `pageCount` reads as zeros. The error says what could not be read and why: the
    /// connection rethrows it unchanged, and records it with the page's number
    /// (`AsOfConnection.sourceFailure`).
    func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError)
}

/// A page a source could not supply while SQLite read it, and the source's error.
package struct PageSourceFailure: Sendable, Equatable, CustomStringConvertible {
    package let page: UInt32
    package let error: EngineError

    package var description: String { "page \(page) could not be read: \(error.description)" }
}
