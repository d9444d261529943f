import Foundation
import CairnFormats

/// Versions of a few pages being rebuilt, one page-sized buffer each, kept until the object
/// goes. Used by one thread.
final class PageImages {
    let pageSize: Int
    private var buffers: [UInt32: UnsafeMutableRawPointer] = [:]
    /// Pages whose buffer holds a version known to be right at the point reached.
    var known = Set<UInt32>()

    init(pageSize: Int) { self.pageSize = pageSize }

    deinit { for b in buffers.values { b.deallocate() } }

    func has(_ pgno: UInt32) -> Bool { buffers[pgno] != nil }

    /// The buffer of `pgno` (zeros when new).
    func buffer(_ pgno: UInt32) -> UnsafeMutableRawPointer {
        if let b = buffers[pgno] { return b }
        let b = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
        b.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
        buffers[pgno] = b
        return b
    }

    func set(_ pgno: UInt32, from data: UnsafeRawPointer) {
        buffer(pgno).copyMemory(from: data, byteCount: pageSize)
    }

    func zero(_ pgno: UInt32) {
        buffer(pgno).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
    }

    func remove(_ pgno: UInt32) {
        known.remove(pgno)
        buffers.removeValue(forKey: pgno)?.deallocate()
    }

    func hash(_ pgno: UInt32) -> UInt64? {
        buffers[pgno].map { Hash.page($0, size: pageSize, pgno: pgno) }
    }
}
