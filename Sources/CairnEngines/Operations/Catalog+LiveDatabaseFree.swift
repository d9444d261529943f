import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Before the live database is replaced (restore in place, which holds the operation lock
    /// alone): no other process may have it open. Cairn commands that read it without that
    /// lock (`status`, `report schema`) finish in moments and are waited for, as the policy
    /// allows; another program, or a running capture, is refused at once.
    func ensureLiveDatabaseFree() throws(EngineError) {
        guard FileSystem.exists(databasePath) else { return }
        if control.redo.mode == .archivelog && CaptureLock.isHeld(path: layout.captureLockFile) {
            throw .captureRunning(pid: CaptureLock.holder(path: layout.captureLockFile), lockFile: layout.captureLockFile)
        }
        var waiter = LockWaiter(policy: lockWait)
        while true {
            let users = LiveDatabase.openers(of: databasePath)
            if users.isEmpty { return }
            guard users.allSatisfy({ $0.name == "cairn" }) else {
                try LiveDatabase.ensureNotOpenElsewhere(databasePath)
                return
            }
            try waiter.pause(lockFile: databasePath, purpose: "replace the live database (restore in place)", log: waitLog) {
                users.map { pid, _ in LockHolders.commandLine(pid).map { "process \(pid) (\($0))" } ?? "process \(pid)" }.joined(separator: ", ")
            }
        }
    }
}
