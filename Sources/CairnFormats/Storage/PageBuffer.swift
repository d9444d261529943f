/// One page's worth of memory, aligned for direct I/O, freed with its owner.
package final class PageBuffer {
    package let size: Int
    package let bytes: UnsafeMutableRawPointer

    package init(size: Int) {
        self.size = size
        bytes = .allocate(byteCount: size, alignment: 4096)
    }

    deinit { bytes.deallocate() }
}
