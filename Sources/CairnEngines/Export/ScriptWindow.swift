import CairnFormats
#if canImport(Glibc)
import Glibc
#endif

/// A SQL script read a window at a time: whole statements, NUL-terminated, for
/// `sqlite3_prepare` to walk through. A window ends after the last `;` that ends a statement as
/// far as quotes and comments go (a `;` inside a trigger's body can still end one early: the
/// importer then asks for the window again from that statement, `refill(from:)`). Memory stays
/// at the window's size unless one statement is longer.
final class ScriptWindow {
    static let initialCapacity = 8 << 20

    let file: RawFile
    let size: UInt64
    private(set) var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Where in the file the window starts.
    private(set) var offset: UInt64 = 0
    /// The window's statements end here (a NUL is put there).
    private(set) var end = 0
    /// Bytes read into the buffer (from `offset`).
    private var length = 0
    private var savedByte: UInt8 = 0

    init(path: String) throws(EngineError) {
        file = try RawFile(path: path, mode: .read)
        size = try file.size()
        file.adviseSequential()
        capacity = Self.initialCapacity
        base = .allocate(capacity: capacity + 1)
    }

    deinit { base.deallocate() }

    /// Whether the window reaches the end of the script.
    var atEnd: Bool { offset + UInt64(end) >= size }

    /// Moves the window to start at `position` (a statement's start within it): keeps what was
    /// read beyond, reads on, and finds the new end. With `grow`, the window is first doubled
    /// (one statement did not fit in it).
    func refill(from position: Int, grow: Bool = false) throws(EngineError) {
        if end < length { base[end] = savedByte }
        let kept = length - position
        if kept > 0 && position > 0 { memmove(base, base + position, kept) }
        offset += UInt64(position)
        length = kept
        if grow { enlarge() }
        while true {
            length += try file.read(into: base + length, count: capacity - length, at: offset + UInt64(length))
            if offset + UInt64(length) >= size {
                end = length
                break
            }
            if let last = Self.lastStatementEnd(base, length) {
                end = last
                break
            }
            enlarge()
        }
        savedByte = end < length ? base[end] : 0
        base[end] = 0
    }

    private func enlarge() {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2 + 1)
        bigger.update(from: base, count: length)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    /// One past the last `;` outside quotes ('', "", ``, []) and comments (--, /* */), or nil.
    static func lastStatementEnd(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int? {
        var last: Int?
        var i = 0
        while i < n {
            let b = p[i]
            switch b {
            case 0x3B:  // ;
                last = i + 1
                i += 1
            case 0x27, 0x22, 0x60, 0x5B:  // ' " ` [
                let close: UInt8 = b == 0x5B ? 0x5D : b
                guard let j = find(close, p, from: i + 1, n) else { return last }
                i = j + 1
            case 0x2D where i + 1 < n && p[i + 1] == 0x2D:  // --
                guard let j = find(0x0A, p, from: i + 2, n) else { return last }
                i = j + 1
            case 0x2F where i + 1 < n && p[i + 1] == 0x2A:  // /*
                var j = i + 2
                while true {
                    guard let star = find(0x2A, p, from: j, n) else { return last }
                    j = star + 1
                    if j < n && p[j] == 0x2F { break }
                }
                i = j + 1
            default:
                i += 1
            }
        }
        return last
    }

    @inline(__always)
    private static func find(_ byte: UInt8, _ p: UnsafeMutablePointer<UInt8>, from i: Int, _ n: Int) -> Int? {
        guard i < n, let q = memchr(p + i, Int32(byte), n - i) else { return nil }
        return q.assumingMemoryBound(to: UInt8.self) - p
    }
}
