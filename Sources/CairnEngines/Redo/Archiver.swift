import Foundation
import Logging
import Synchronization
import CairnFormats
import CairnCatalog

/// Copies closed online logs to every archive destination. A log counts as archived once
/// at least `minSucceed` destinations hold it durably (re-read and checked); only then may
/// its group be reused. Failed copies are retried with exponential backoff.
package final class Archiver: Sendable {
    let database: Catalog
    let logger: Logger
    /// When each failed copy may be tried again. Held for a whole pass, so two passes (the
    /// archiver thread's and a stop's) never copy at once.
    private let retries = Mutex<[String: Date]>([:])
    /// Ends a pass between two copies (the capture is handing over or stopping).
    let interruption = StopRequest(signal: .none)

    package init(database: Catalog, logger: Logger = Logger(label: "cairn")) {
        self.database = database
        self.logger = logger
    }

    static func fileHash(_ path: String) throws(EngineError) -> UInt64 { try FileSystem.hashFile(path) }

    /// The destination a name in the control file stands for (see `ArchiveDestinations`).
    package static func destination(_ name: String) -> any ArchiveDestination { ArchiveDestinations.resolve(name) }

    /// The online member holding `log`, verified by its header.
    func onlineSource(_ log: LogRecord) throws(EngineError) -> String {
        let c = database.control
        var looked: [String] = []
        for path in c.redo.memberPaths(group: log.group) {
            looked.append(path)
            guard let r = try? RedoLogReader(path: path), r.header.sequence == log.sequence,
                  Int(r.header.incarnation) == log.incarnation, FileSystem.fileSize(path) == log.bytes,
                  (try? FileSystem.hashFile(path)).map(Hash.hex) == log.xxh3 else { continue }
            return path
        }
        throw .missingLog(sequence: log.sequence, incarnation: log.incarnation, looked: looked, recoveredTo: 0)
    }

    /// One pass over every log not yet archived everywhere. `force` ignores retry delays.
    /// Returns the number of (log, destination) copies made.
    @discardableResult
    package func archivePending(force: Bool = false) -> Int {
        defer { database.recordObjectRequests() }
        return retries.withLock { retryAt in archivePending(force: force, retryAt: &retryAt) }
    }

    /// How long until the next failed copy may be tried again; nil when none waits.
    package func nextRetry() -> TimeInterval? {
        retries.withLock { $0.values.min().map { max(0.05, $0.timeIntervalSinceNow) } }
    }

    private func archivePending(force: Bool, retryAt: inout [String: Date]) -> Int {
        var copies = 0
        let control = database.control
        let logs = control.redo.logs.sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        // Copies deleted on purpose or found gone by a crosscheck are not made again;
        // asynchronous remotes are filled by the remote shipper.
        let asynchronous = Set(control.asyncArchiveDestinations)
        func due(_ d: LogRecord.DestinationState) -> Bool { (d.state == .pending || d.state == .failed) && !asynchronous.contains(d.destination) }
        func key(_ log: LogRecord, _ d: LogRecord.DestinationState) -> String { "\(log.incarnation)/\(log.sequence)/\(d.destination)" }
        let now = Date()
        // Retries are kept for copies still due only (a log archived elsewhere meanwhile, or
        // whose group was reused, is not tried again).
        let stillDue = Set(logs.flatMap { log in log.destinations.filter(due).map { key(log, $0) } })
        retryAt = retryAt.filter { stillDue.contains($0.key) }
        for log in logs where log.destinations.contains(where: due) {
            if interruption.isRequested { break }
            // Copies waiting for their retry are not looked at (nor the log's source read).
            let ready = log.destinations.filter { d in due(d) && (force || retryAt[key(log, d)].map { $0 <= now } ?? true) }
            if ready.isEmpty { continue }
            let source: String
            do throws(EngineError) { source = try onlineSource(log) } catch {
                // No retry: the source is gone (a group reused once the required copies existed).
                for d in log.destinations { retryAt[key(log, d)] = nil }
                if log.status == .archived { continue } // the group was reused; the required copies exist
                logger.error("cannot archive log sequence \(log.sequence): \(error.description)")
                continue
            }
            for dest in ready {
                let retryKey = key(log, dest)
                let d = Self.destination(dest.destination)
                var outcome: LogRecord.DestinationState.State = .archived
                var message: String?
                do throws(EngineError) {
                    try database.reserveRecoveryArea(bytes: log.bytes, for: dest.destination)
                    try d.put(localPath: source, as: log.fileName)
                    try d.verify(log.fileName, bytes: log.bytes, xxh3: log.xxh3)
                    copies += 1
                    retryAt[retryKey] = nil
                } catch {
                    outcome = .failed
                    message = error.description
                    let attempts = dest.attempts + 1
                    var delay = min(60.0, pow(2.0, Double(min(attempts, 6))))
                    // A full recovery area is rechecked often: raising the limit resumes archiving.
                    if case .recoveryAreaFull = error { delay = 1 }
                    retryAt[retryKey] = Date().addingTimeInterval(delay)
                    logger.warning("archiving log sequence \(log.sequence) to \(dest.destination) failed (attempt \(attempts), retry in \(Int(delay)) s): \(error.description)")
                }
                do throws(EngineError) {
                    try database.transact { (c: inout ControlFile) throws(EngineError) in
                        guard let li = c.redo.logs.firstIndex(where: { $0.incarnation == log.incarnation && $0.sequence == log.sequence }),
                              let di = c.redo.logs[li].destinations.firstIndex(where: { $0.destination == dest.destination }) else { return }
                        c.redo.logs[li].destinations[di].state = outcome
                        c.redo.logs[li].destinations[di].attempts += 1
                        c.redo.logs[li].destinations[di].error = message
                        if outcome == .archived { c.redo.logs[li].destinations[di].archivedAt = Date() }
                        Self.settle(&c, logIndex: li)
                    }
                } catch {
                    logger.error("could not record the archiving of log sequence \(log.sequence): \(error.description)")
                }
            }
        }
        return copies
    }

    /// Marks a log archived once enough destinations hold it, frees its group, and moves the
    /// archived SCN to the end of the longest run of archived logs.
    static func settle(_ c: inout ControlFile, logIndex li: Int) {
        let log = c.redo.logs[li]
        let asynchronous = Set(c.asyncArchiveDestinations)
        let counted = log.destinations.filter { !asynchronous.contains($0.destination) }
        let done = counted.filter { $0.state == .archived }.count
        if done >= min(c.redo.minSucceed, max(1, counted.count)), log.status != .archived {
            c.redo.logs[li].status = .archived
            if let gi = c.redo.groups.firstIndex(where: { $0.number == log.group && $0.sequence == log.sequence && $0.status == .active }) {
                c.redo.groups[gi].status = .inactive
            }
        }
        let mine = c.redo.logs.filter { $0.incarnation == c.incarnation }.sorted { $0.sequence < $1.sequence }
        var archived = c.redo.archivedScn
        for l in mine {
            guard l.status == .archived else { break }
            archived = max(archived, l.highScn)
        }
        c.redo.archivedScn = archived
    }
}
