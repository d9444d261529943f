@testable import CairnAgent
import CSystemShim
import Foundation
import Testing

@Suite struct FutexHashTests {
    @Test func theHashHasAboutFourSlotsPerThreadOfTheDatabases() {
        #expect(FutexHash.slots(for: 0) == 256)
        #expect(FutexHash.slots(for: 500) == 8192)  // 1,564 threads: 6,256 slots wanted
        #expect(FutexHash.slots(for: 1_000_000) == FutexHash.maxSlots)
    }

    /// On a kernel with private futex hashes (Linux 6.17 and later), the process's hash grows
    /// to fit and never shrinks; elsewhere nothing changes.
    @Test func theProcessHashGrowsToFit() {
        let before = cairn_futex_hash_slots()
        let fitted = FutexHash.fit(databases: 500)
        guard before > 0 else {
            #expect(fitted == nil)
            return
        }
        #expect(fitted.map { $0 >= 8192 } == true, "\(String(describing: fitted))")
        #expect(cairn_futex_hash_slots() >= 8192)
        #expect(FutexHash.fit(databases: 1) == Int(cairn_futex_hash_slots()))
    }
}
