@testable import CairnObjectStore
import CairnTestSupport
import Foundation
import Synchronization
import Testing

/// The bound on the upload payloads one S3 client holds in memory: an acquire waits for room,
/// waiters go in order, a cancelled waiter takes nothing, a request above the capacity takes it all.
@Suite struct TransferBudgetTests {
    /// What the tasks did, in order.
    final class Events: Sendable {
        private let list = Mutex<[String]>([])
        func add(_ e: String) { list.withLock { $0.append(e) } }
        var all: [String] { list.withLock { $0 } }
    }

    @Test func anAcquireWaitsUntilThereIsRoom() async throws {
        let budget = TransferBudget(capacity: 10)
        let first = try await budget.acquire(6)
        #expect(first == 6 && budget.available == 4)
        let events = Events()
        let waiting = Task {
            let n = try await budget.acquire(6)
            events.add("granted")
            return n
        }
        #expect(await Await.eventually(10) { budget.waiting == 1 })
        #expect(events.all.isEmpty, "6 bytes granted with 4 free")
        budget.release(first)
        #expect(try await waiting.value == 6)
        #expect(budget.available == 4)
    }

    @Test func waitersAreServedInOrder() async throws {
        let budget = TransferBudget(capacity: 10)
        let held = try await budget.acquire(8)
        let order = Events()
        let big = Task { _ = try await budget.acquire(9); order.add("big") }
        #expect(await Await.eventually(10) { budget.waiting == 1 })
        // 1 byte would fit now, but the 9 asked for first go first.
        let small = Task { _ = try await budget.acquire(1); order.add("small") }
        #expect(await Await.eventually(10) { budget.waiting == 2 })
        #expect(order.all.isEmpty)
        budget.release(held)
        try await big.value
        try await small.value
        #expect(order.all == ["big", "small"])
        #expect(budget.available == 0)
    }

    @Test func aCancelledWaiterTakesNothingAndLetsOthersIn() async throws {
        let budget = TransferBudget(capacity: 10)
        let held = try await budget.acquire(5)
        let big = Task { try await budget.acquire(10) }
        #expect(await Await.eventually(10) { budget.waiting == 1 })
        let small = Task { try await budget.acquire(5) }
        #expect(await Await.eventually(10) { budget.waiting == 2 })
        big.cancel()
        await #expect(throws: CancellationError.self) { try await big.value }
        #expect(try await small.value == 5)
        #expect(budget.available == 0)
        budget.release(held)
        #expect(budget.available == 5)
    }

    @Test func aRequestAboveTheCapacityTakesAllOfIt() async throws {
        let budget = TransferBudget(capacity: 10)
        #expect(try await budget.acquire(25) == 10)
        #expect(budget.available == 0)
        budget.release(10)
        #expect(try await budget.acquire(0) == 0)
        #expect(budget.available == 10)
    }
}
