import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// Fills the remote repositories (see `RemoteRepository`): archived logs of asynchronous
/// remotes (synchronous ones are archive destinations the `Archiver` fills), every backup
/// set, archived-log set and image copy, the repository identity and the catalog copy; and
/// removes there the backups deleted from the repository.
///
/// Nothing counts as stored at a remote before the service confirmed it (size, XXH3, and
/// for a backup a recount of its files in a listing). A pass with nothing due sends no
/// request at all, so an idle database costs nothing; a failed remote is retried with
/// exponential backoff, and the others go on.
package final class RemoteShipper: Sendable {
    let database: Catalog
    let logger: Logger
    /// Told of the bytes uploaded (a terminal shows progress); cancels between files.
    let monitor: OperationMonitor
    /// When each failed remote may be tried again, and how many times in a row it failed.
    /// Held for a whole pass, so two passes never upload at once in one process.
    private let retries = Mutex<[String: (at: Date, failures: Int)]>([:])
    /// Files uploaded at once (each a single PUT up to the multipart threshold, or parallel
    /// parts above): bounds memory to about this many in-flight objects.
    static let width = 3

    package init(database: Catalog, logger: Logger = Logger(label: "cairn"), monitor: OperationMonitor = OperationMonitor()) {
        self.database = database
        self.logger = logger
        self.monitor = monitor
    }

    package struct Report: Sendable, Codable {
        /// Objects stored (logs, backup files, catalog copies) and removed.
        package var stored = 0
        package var removed = 0
        /// One line per remote that failed.
        package var failures: [String] = []
    }

    /// One pass over every remote (or the one named `only`). `force` ignores retry delays.
    @discardableResult
    package func shipPending(force: Bool = false, only: String? = nil) -> Report {
        retries.withLock { retryAt in
            var report = Report()
            for remote in database.control.remoteRepositories where only.map({ RemoteRepository.normalized($0) == remote.url }) ?? true {
                if !force, let r = retryAt[remote.url], r.at > Date() { continue }
                do throws(EngineError) {
                    try ship(remote, into: &report)
                    retryAt[remote.url] = nil
                } catch {
                    let failures = (retryAt[remote.url]?.failures ?? 0) + 1
                    let delay = min(60.0, pow(2.0, Double(min(failures, 6))))
                    retryAt[remote.url] = (Date().addingTimeInterval(delay), failures)
                    report.failures.append("\(remote.url): \(error.description)")
                    logger.warning("copying to the remote \(remote.url) failed (attempt \(failures), retry in \(Int(delay)) s): \(error.description)")
                    record(remote.url) { r in r.lastError = error.description; r.lastErrorAt = Date() }
                }
            }
            let urls = Set(database.control.remoteRepositories.map(\.url))
            retryAt = retryAt.filter { urls.contains($0.key) }
            database.recordObjectRequests()
            return report
        }
    }

    /// How long until a failed remote may be tried again; nil when none waits.
    package func nextRetry() -> TimeInterval? {
        retries.withLock { $0.values.map(\.at).min().map { max(0.05, $0.timeIntervalSinceNow) } }
    }

    /// True when some remote has something to store or remove (looked up in the control
    /// file and the catalog copy only: no request).
    package func hasPending() -> Bool {
        let c = database.control
        guard !c.remoteRepositories.isEmpty else { return false }
        let catalog = catalogHash()
        return c.remoteRepositories.contains { !due(for: $0, in: c, catalog: catalog).isEmpty }
    }

    private func ship(_ remote: RemoteRepository, into report: inout Report) throws(EngineError) {
        let c = database.control
        let due = due(for: remote, in: c, catalog: catalogHash())
        guard !due.isEmpty else { return }
        try storeIdentity(remote, dbid: c.dbid, first: remote.catalogXXH3 == nil)
        report.stored += try shipLogs(due.logs, to: remote, control: c)
        for b in due.backups { report.stored += try shipBackup(b, to: remote, dbid: c.dbid) }
        for id in due.removedBackups { report.removed += try removeBackup(id, from: remote, dbid: c.dbid) }
        // The keyring before the catalog and backups are of use: files it does not hold a key for cannot be read.
        if due.keyring { report.stored += try shipDocument(database.layout.keyringFile, to: remote, dbid: c.dbid) { r, h in r.keyringXXH3 = h } }
        if due.catalog { report.stored += try shipDocument(RepositoryCatalog.path(database.layout), to: remote, dbid: c.dbid) { r, h in r.catalogXXH3 = h; r.catalogAt = Date() } }
        record(remote.url) { r in r.syncedAt = Date(); r.lastError = nil; r.lastErrorAt = nil }
    }

    /// Applies `change` to the remote `url` in the control file.
    func record(_ url: String, _ change: @escaping (inout RemoteRepository) -> Void) {
        do throws(EngineError) {
            try database.transact { (c: inout ControlFile) throws(EngineError) in
                guard let i = c.remoteRepositories.firstIndex(where: { $0.url == url }) else { return }
                change(&c.remotes![i])
            }
        } catch {
            logger.error("could not record the state of the remote \(url): \(error.description)")
        }
    }
}
