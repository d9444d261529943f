@testable import CairnFormats
@testable import CairnEngines
import Foundation
import Synchronization
import Testing

/// `status` probes the capture lock; a probe must never make a capture starting at that
/// moment fail ("capture is already running"), which the public API's test saw once.
@Suite struct CaptureLockTests {
    @Test func probingNeverKeepsACaptureFromStarting() throws {
        let dir = NSTemporaryDirectory() + "cairn-unit-lock-\(UUID().uuidString.prefix(8))"
        let path = dir + "/capture/capture.lock"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try CaptureLock(path: path)
        let stop = Atomic<Bool>(false)
        let prober = Thread {
            while !stop.load(ordering: .acquiring) { _ = CaptureLock.isHeld(path: path) }
        }
        prober.start()
        defer { stop.store(true, ordering: .releasing) }
        var refused = 0
        for _ in 0..<2000 {
            if try CaptureLock(path: path) == nil { refused += 1 }
        }
        #expect(refused == 0)
        // A real holder is still refused.
        let held = try #require(try CaptureLock(path: path))
        #expect(try CaptureLock(path: path) == nil)
        _ = held
    }
}
