import Foundation

/// Threads of the agent's own for its tasks (its loop, the job runner, service lifecycle): the
/// agent's `run()` prefers this executor (and whoever runs its `ServiceGroup` should too), so its schedule and its stop never wait behind other
/// work that blocks Swift's shared cooperative threads (an application embedding the agent, or
/// tests running beside it). Blocking engine work runs on threads of its own, never here.
package final class AgentExecutor: TaskExecutor, @unchecked Sendable {
    package static let shared = AgentExecutor(threads: 2)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "cairn agent \(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
