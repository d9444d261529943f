@testable import CairnFormats
import Foundation
import Synchronization
import Testing

/// The ordered pipeline: items come out in the order they went in, whatever order the
/// workers finish them in; a failure anywhere stops it and is rethrown.
@Suite struct PipelineTests {
    /// A slot: its values behind a lock, as the pipeline's slots keep their buffers.
    final class Slot: Sendable {
        struct Values {
            var value = 0
            var doubled = 0
        }
        let values = Mutex(Values())
    }

    @Test func itemsLeaveInOrderWhateverTheWorkersTake() throws {
        let pipeline = OrderedPipeline(slots: (0..<4).map { _ in Slot() }, workers: 3)
        var next = 0
        let out = try pipeline.run(
            produce: { slot in
                guard next < 500 else { return false }
                slot.values.withLock { $0.value = next }
                next += 1
                return true
            },
            transform: { slot, _ in
                let value = slot.values.withLock { $0.value }
                if value % 7 == 0 { usleep(UInt32.random(in: 0...300)) }
                slot.values.withLock { $0.doubled = value * 2 }
            },
            consumer: [Int](),
            consume: { out, slot in out.append(slot.values.withLock { $0.doubled }) })
        #expect(out == (0..<500).map { $0 * 2 })
    }

    struct Boom: Error {}

    @Test func aFailingTransformStopsThePipelineAndIsRethrown() {
        let pipeline = OrderedPipeline(slots: (0..<3).map { _ in Slot() }, workers: 2)
        var next = 0
        #expect(throws: Boom.self) {
            try pipeline.run(
                produce: { slot in
                    next += 1
                    slot.values.withLock { $0.value = next }
                    return next < 10_000
                },
                transform: { slot, _ in if slot.values.withLock({ $0.value }) == 50 { throw Boom() } },
                consumer: (),
                consume: { _, _ in })
        }
        #expect(next < 10_000)
    }
}
