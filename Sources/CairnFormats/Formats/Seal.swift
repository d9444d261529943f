/// The framing shared by Cairn's fixed-size binary headers and trailers: a magic string at
/// the start and an XXH3 of the bytes before it at a fixed offset ("the seal").
package enum Seal {
    static func putMagic(_ magic: [UInt8], _ p: UnsafeMutableRawPointer) {
        for (i, b) in magic.enumerated() { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
    }

    static func hasMagic(_ magic: [UInt8], _ p: UnsafeRawPointer) -> Bool {
        magic.enumerated().allSatisfy { p.load(fromByteOffset: $0.offset, as: UInt8.self) == $0.element }
    }

    /// Writes the XXH3 of bytes `0..<at` at offset `at`.
    static func close(_ p: UnsafeMutableRawPointer, at: Int) {
        LE.put64(Hash.xxh3(p, at), p, at)
    }

    package static func isIntact(_ p: UnsafeRawPointer, at: Int) -> Bool {
        Hash.xxh3(p, at) == LE.get64(p, at)
    }
}
