import Foundation
import CairnFormats
import CairnObjectStore

/// Runs blocking engine work on a thread of its own (the engines read and write files with
/// positional I/O on reused buffers; they never block Swift's cooperative pool), with the
/// task's cancellation passed on: a cancelled task's operation stops at its next block and
/// throws `CairnError` with code `cancelled`. `database` fills the suggested commands of an
/// error's message.
func detached<T: Sendable>(database: String? = nil, progress: ProgressHandler?,
                           _ work: @escaping @Sendable (OperationMonitor) throws(EngineError) -> T) async throws(CairnError) -> T {
    // Every operation of the public API comes through here: s3:// destinations resolve from the first one on.
    ObjectStoreSetup.register()
    var report: (@Sendable (ProgressReport) -> Void)?
    if let progress { report = { r in progress(OperationProgress(r)) } }
    let monitor = OperationMonitor(report: report)
    if Task.isCancelled { monitor.cancel() }
    let result: Result<T, EngineError> = await withTaskCancellationHandler(operation: {
        await onThread(work, monitor)
    }, onCancel: {
        monitor.cancel()
    })
    switch result {
    case let .success(value): return value
    case let .failure(error): throw CairnError(error, database: database)
    }
}

private func onThread<T: Sendable>(_ work: @escaping @Sendable (OperationMonitor) throws(EngineError) -> T,
                                   _ monitor: OperationMonitor) async -> Result<T, EngineError> {
    await withCheckedContinuation { (done: CheckedContinuation<Result<T, EngineError>, Never>) in
        Thread.detachNewThread { done.resume(returning: outcome(of: work, monitor)) }
    }
}

private func outcome<T>(of work: (OperationMonitor) throws(EngineError) -> T, _ monitor: OperationMonitor) -> Result<T, EngineError> {
    do throws(EngineError) {
        try monitor.checkCancelled("the operation")
        return .success(try work(monitor))
    } catch {
        return .failure(error)
    }
}
