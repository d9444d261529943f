import Foundation
import Synchronization
import CairnFormats
import CairnCatalog

/// Runs a `SnapshotKeeper` on a thread of its own, a poll every `pollMicroseconds`, until
/// `stop()`. The keeper (its pin, buffers and progress) belongs to that thread while it runs
/// and is handed back when it stops; only the stop request and the failure are shared.
final class SnapshotKeeperThread: Sendable {
    static let pollMicroseconds: UInt32 = 500

    private let stopping = Atomic<Bool>(false)
    private let failure = Mutex<EngineError?>(nil)
    private let running = Mutex<JoinableThread<SnapshotKeeper>?>(nil)

    init() {}

    /// Starts following with `keeper`.
    func start(_ keeper: consuming sending SnapshotKeeper) {
        let thread = JoinableThread(name: "cairn snapshot keeper", moving: keeper) { [self] keeper in
            while !stopping.load(ordering: .acquiring) {
                do throws(EngineError) { try keeper.step() } catch {
                    failure.withLock { $0 = error }
                    break
                }
                usleep(Self.pollMicroseconds)
            }
            return keeper
        }
        running.withLock { $0 = thread }
    }

    /// Why the keeper stopped following, if it failed: the snapshot can no longer be trusted.
    var error: EngineError? { failure.withLock { $0 } }

    /// Stops following and hands the keeper back (its pin stays where it is until its owner
    /// lets it go); nil when it is not running.
    func stop() -> sending SnapshotKeeper? {
        guard let thread = running.withLock({ $0.take() }) else { return nil }
        stopping.store(true, ordering: .releasing)
        return thread.join()
    }
}
