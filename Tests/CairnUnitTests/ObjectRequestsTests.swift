import Foundation
import Testing
import CairnFormats
import CairnObjectStore

/// Reading the registered request counter costs the same every time: a closure kept in a
/// `Mutex` once gained a layer of thunks per read, until a long-running capture overflowed
/// its stack (reads grew from microseconds to seconds). Counted, not timed: a stack of 256 KiB
/// survives many more reads than a growing chain would allow.
struct ObjectRequestsTests {
    @Test func readingTheCounterDoesNotGrowIt() {
        ObjectStoreSetup.register()
        let before = ObjectRequests.processTotals
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for _ in 0..<200_000 { _ = ObjectRequests.processTotals }
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        #expect(ObjectRequests.processTotals.keys == before.keys)
    }
}
