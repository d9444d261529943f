import Foundation
import CairnFormats
import CairnCatalog

/// Waiting for the capture lock (`capture/capture.lock`), held by a capture process for as
/// long as it runs, by commands that must not run beside capture.
enum CaptureLockWait {
    /// Takes the capture lock, waiting as `policy` allows while another process captures.
    static func take(layout: RepositoryLayout, policy: LockWaitPolicy, purpose: String, log: (String) -> Void) throws(EngineError) -> CaptureLock {
        let path = layout.captureLockFile
        var waiter = LockWaiter(policy: policy)
        while true {
            if let lock = try CaptureLock(path: path) { return lock }
            try waiter.pause(lockFile: path, purpose: purpose, log: log) {
                CaptureLock.holder(path: path).map { pid in
                    LockHolders.commandLine(pid).map { "capture process \(pid) (\($0))" } ?? "capture process \(pid)"
                } ?? LockHolders.describe(path)
            }
        }
    }
}
