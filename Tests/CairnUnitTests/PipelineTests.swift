@testable import CairnFormats
import Foundation
import Synchronization
import Testing

/// The ordered pipeline: items come out in the order they went in, whatever order the
/// workers finish them in; a failure anywhere stops it and is rethrown.
@Suite struct PipelineTests {
    final class Slot: PipelineSlot, @unchecked Sendable {
        var value = 0
        var doubled = 0
    }

    @Test func itemsLeaveInOrderWhateverTheWorkersTake() throws {
        let pipeline = OrderedPipeline(slots: (0..<4).map { _ in Slot() }, workers: 3)
        var next = 0
        let out = Mutex<[Int]>([])
        try pipeline.run(
            produce: { slot in
                guard next < 500 else { return false }
                slot.value = next
                next += 1
                return true
            },
            transform: { slot, _ in
                if slot.value % 7 == 0 { usleep(UInt32.random(in: 0...300)) }
                slot.doubled = slot.value * 2
            },
            consume: { slot in out.withLock { $0.append(slot.doubled) } })
        #expect(out.withLock { $0 } == (0..<500).map { $0 * 2 })
    }

    struct Boom: Error {}

    @Test func aFailingTransformStopsThePipelineAndIsRethrown() {
        let pipeline = OrderedPipeline(slots: (0..<3).map { _ in Slot() }, workers: 2)
        var next = 0
        #expect(throws: Boom.self) {
            try pipeline.run(
                produce: { slot in
                    next += 1
                    slot.value = next
                    return next < 10_000
                },
                transform: { slot, _ in if slot.value == 50 { throw Boom() } },
                consume: { _ in })
        }
        #expect(next < 10_000)
    }
}
