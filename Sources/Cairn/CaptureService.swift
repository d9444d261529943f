import Foundation
import Logging
import ServiceLifecycle
import CairnFormats
import CairnCatalog
import CairnEngines

/// Captures every transaction of a protected database as it commits and archives the
/// logs, until the service is shut down (gracefully or by cancellation); then it captures
/// and archives everything committed before returning. Only one capture runs per database:
/// a second one waits until the first stops.
///
/// ```swift
/// let group = ServiceGroup(services: [db.captureService()], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct CaptureService: Service {
    let catalog: Catalog
    let logger: Logger

    /// Captures and archives until the service group shuts down gracefully or the task is
    /// cancelled, then captures and archives what is committed and returns. Throws
    /// ``CairnError`` when capture cannot go on (for example when the database file is
    /// deleted or replaced under it).
    public func run() async throws {
        let stop = StopRequest()
        let catalog = catalog, logger = logger
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await detached(progress: nil) { _ throws(EngineError) in
                    let runner = CaptureRunner(database: catalog, logger: logger, stopRequest: stop)
                    try runner.run()
                }
            } onGracefulShutdown: {
                stop.request()
            }
        } onCancel: {
            stop.request()
        }
    }
}
