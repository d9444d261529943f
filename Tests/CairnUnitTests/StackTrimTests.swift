import CSystemShim
import Foundation
import Synchronization
import Testing

/// `cairn_trim_stack`: a thread going to sleep after deep work gives back the stack below its
/// current depth, and goes on working (the pages come back as it grows again).
@Suite struct StackTrimTests {
    /// Recurses `depth` times, writing a 4 KiB buffer in each frame; the sum of what it wrote.
    @inline(never)
    static func deep(_ depth: Int) -> Int {
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { buffer in
            for i in stride(from: 0, to: 4096, by: 64) { buffer[i] = UInt8(truncatingIfNeeded: depth + i) }
            let here = Int(buffer[64])
            return depth == 0 ? here : here + deep(depth - 1)
        }
    }

    @Test func aThreadGivesBackTheStackItGrewAndGoesOn() {
        let result = Mutex<(released: Int, first: Int, second: Int)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let first = Self.deep(128)
            let released = cairn_trim_stack()
            let second = Self.deep(128)
            result.withLock { $0 = (Int(released), first, second) }
            done.signal()
        }
        thread.start()
        done.wait()
        let r = result.withLock { $0 }
        #expect((r?.released ?? 0) >= 256 << 10, "released \(r?.released ?? -1) bytes after using 512 KiB of stack")
        #expect(r?.first == r?.second && r?.first != nil, "the same work gives the same result after the trim")
    }
}
