/// A set of page numbers as a bitmap: one bit per page, in a `PageColumn` (so off the heap and
/// not resident once large), walked in ascending order. For the candidate pages of a level-1
/// backup, which may be every page of the database. Not Sendable: its `PageColumn` is not.
package final class PageSet {
    private let words = PageColumn()
    /// Words in use (pages 1...wordCount * 64 can be members).
    private var wordCount = 0
    package private(set) var count = 0

    package init() {}

    package convenience init<S: Sequence>(_ pages: S) where S.Element == UInt32 {
        self.init()
        for p in pages { insert(p) }
    }

    @inline(__always) private static func place(_ pgno: UInt32) -> (Int, UInt64) {
        let i = Int(pgno - 1)
        return (i >> 6, 1 << UInt64(i & 63))
    }

    package func contains(_ pgno: UInt32) -> Bool {
        guard pgno >= 1 else { return false }
        let (w, bit) = Self.place(pgno)
        return w < wordCount && words[w] & bit != 0
    }

    package func insert(_ pgno: UInt32) {
        precondition(pgno >= 1, "page numbers start at 1")
        let (w, bit) = Self.place(pgno)
        if w >= wordCount {
            words.reserve(w + 1, keeping: wordCount)
            words.fill(wordCount..<(w + 1), with: 0)
            wordCount = w + 1
        }
        if words[w] & bit == 0 {
            words[w] |= bit
            count += 1
            words.noteWrite(at: w)
        }
    }

    /// Inserts pages `first...last`.
    package func insert(_ first: UInt32, through last: UInt32) {
        guard first <= last else { return }
        for p in first...last { insert(p) }
    }

    /// Removes every page above `pgno`.
    package func removeAll(above pgno: UInt32) {
        var p = next(from: pgno &+ 1)
        while let q = p {
            let (w, bit) = Self.place(q)
            words[w] &= ~bit
            count -= 1
            words.noteWrite(at: w)
            p = next(from: q + 1)
        }
    }

    /// The smallest member at or above `pgno`.
    package func next(from pgno: UInt32) -> UInt32? {
        guard pgno >= 1 else { return next(from: 1) }
        var (w, _) = Self.place(pgno)
        guard w < wordCount else { return nil }
        var bits = words[w] & (~0 << UInt64(Int(pgno - 1) & 63))
        while bits == 0 {
            w += 1
            guard w < wordCount else { return nil }
            if w % PageColumn.chunk == 0 { words.trim() }
            bits = words[w]
        }
        return UInt32(w * 64 + bits.trailingZeroBitCount + 1)
    }

    /// Members, ascending (for tests and small sets).
    package var sorted: [UInt32] {
        var out: [UInt32] = []
        var p = next(from: 1)
        while let q = p {
            out.append(q)
            p = next(from: q + 1)
        }
        return out
    }
}
