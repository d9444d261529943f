import CairnFormats

/// The pages of a `PointInTimePages` as of one SCN of those it indexes, as a `PageSource`:
/// several points of one index (before and after a transaction) attached side by side.
final class PointInTimeView: PageSource {
    let pages: PointInTimePages
    let scn: UInt64

    init(_ pages: PointInTimePages, asOf scn: UInt64) {
        self.pages = pages
        self.scn = scn
    }

    var pageSize: Int { pages.pageSize }
    var pageCount: UInt32 { pages.pageCount(asOf: scn) }

    func read(_ pgno: UInt32, into buffer: UnsafeMutableRawPointer) throws(EngineError) {
        try pages.read(pgno, asOf: scn, into: buffer)
    }
}
