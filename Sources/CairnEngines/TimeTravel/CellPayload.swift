/// How much of a b-tree cell's payload is stored on the page itself (the rest spills to a
/// chain of overflow pages), as the SQLite file format defines it.
enum CellPayload {
    /// The bytes of a `payload`-byte payload kept on a page whose usable size is `usable`; nil
    /// when all of it is (no overflow). `tableLeaf`: a table b-tree leaf cell (X = U-35), else
    /// an index cell (X = ((U-12)*64/255)-23).
    static func localSize(payload: Int64, usable: Int, tableLeaf: Bool) -> Int? {
        let u = Int64(usable)
        let maxLocal = tableLeaf ? u - 35 : (u - 12) * 64 / 255 - 23
        guard payload > maxLocal else { return nil }
        let minLocal = (u - 12) * 32 / 255 - 23
        let k = minLocal + (payload - minLocal) % (u - 4)
        return Int(k <= maxLocal ? k : minLocal)
    }
}
