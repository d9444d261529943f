import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// What one attempt at a deletion came to: done, or blocked by a lock file another command
/// holds (the caller waits and tries again).
enum DeletionStep<T> {
    case done(T)
    case blocked(lockFile: String)
}

extension Catalog {
    /// Starts a command on the repository (see `RepositoryOperation` for the rules). What a
    /// command it waited for changed (a restore in place, a catalog rebuild) is in `control`,
    /// which always reads the newest copy. A database opened from its repository alone only reads.
    func beginOperation(_ access: RepositoryOperation.Access, purpose: String) throws(EngineError) -> RepositoryOperation {
        try RepositoryOperation(layout: layout, access: isRepositoryAlone ? .reading : access, purpose: purpose,
                                policy: lockWait, log: waitLog)
    }

    /// Starts a command that reads stored backups and logs: they stay in place until it ends,
    /// and `control` read after it names what exists.
    func beginReadingStoredFiles(_ access: RepositoryOperation.Access = .reading, purpose: String) throws(EngineError) -> RepositoryOperation {
        let op = try beginOperation(access, purpose: purpose)
        try op.protectStoredFiles(purpose: purpose)
        return op
    }

    /// Takes the deletion lock (see `DeletionSession`), waiting per `policy`.
    func deletionSession(files: Bool, purpose: String, policy: LockWaitPolicy? = nil) throws(EngineError) -> DeletionSession {
        try DeletionSession(layout: layout, files: files, policy: policy ?? lockWait, purpose: purpose, log: waitLog)
    }

    /// Runs `attempt` under a deletion session until it is done; while it is blocked by
    /// another command, waits as `policy` allows (saying once what for) and tries again with
    /// the control file as it is then.
    func deleting<T>(purpose: String, policy: LockWaitPolicy? = nil,
                     _ attempt: (DeletionSession) throws(EngineError) -> DeletionStep<T>) throws(EngineError) -> T {
        let policy = policy ?? lockWait
        var waiter = LockWaiter(policy: policy)
        while true {
            let session = try deletionSession(files: true, purpose: purpose, policy: policy)
            let step: DeletionStep<T>
            do throws(EngineError) {
                step = try attempt(session)
            } catch {
                session.end()
                throw error
            }
            session.end()
            switch step {
            case .done(let value): return value
            case .blocked(let file): try waiter.pause(lockFile: file, purpose: purpose, log: waitLog) { LockHolders.describe(file) }
            }
        }
    }

    /// Deletes what `plan` decides from the control file as it is under the deletion lock,
    /// once nothing of it is in use (`delete obsolete|expired`, `--delete-input`).
    func deleteWhenFree(purpose: String, _ plan: (ControlFile) -> DeletionPlan) throws(EngineError) -> DeletionReport {
        try deleting(purpose: purpose) { (session: DeletionSession) throws(EngineError) -> DeletionStep<DeletionReport> in
            let p = plan(control)
            if p.isEmpty { return .done(DeletionReport()) }
            if let blocker = session.blocker(of: p) { return .blocked(lockFile: blocker) }
            return .done(try delete(p, session: session))
        }
    }

    /// Where a wait says what it waits for when the policy has no notice of its own.
    var waitLog: (String) -> Void {
        let logger = logger
        return { logger.warning("\($0)") }
    }
}
