/// Fixed-width little-endian encoding into and out of raw buffers.
package enum LE {
    @inline(__always) package static func put32(_ v: UInt32, _ p: UnsafeMutableRawPointer, _ off: Int) {
        p.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt32.self)
    }
    @inline(__always) package static func put64(_ v: UInt64, _ p: UnsafeMutableRawPointer, _ off: Int) {
        p.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt64.self)
    }
    @inline(__always) package static func get32(_ p: UnsafeRawPointer, _ off: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: off, as: UInt32.self))
    }
    @inline(__always) package static func get64(_ p: UnsafeRawPointer, _ off: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: off, as: UInt64.self))
    }
    /// Big-endian read, for SQLite's own headers.
    @inline(__always) package static func getBE32(_ p: UnsafeRawPointer, _ off: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: off, as: UInt32.self))
    }
    @inline(__always) package static func getBE16(_ p: UnsafeRawPointer, _ off: Int) -> UInt16 {
        UInt16(bigEndian: p.loadUnaligned(fromByteOffset: off, as: UInt16.self))
    }
}
