import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// `cairn configure DB remote add URL [--mode sync|async]` (and `init --remote`). A sync
    /// remote's archive becomes an archive destination (counted toward min-succeed); an async
    /// one is filled behind local archiving. Logs closed from now on get a copy there; the
    /// backups and catalog already in the repository are copied by the next pass.
    @discardableResult
    package func addRemote(_ url: String, mode: RemoteRepository.Mode, minSucceed: Int? = nil) throws(EngineError) -> RemoteRepository {
        let name = ArchiveDestinations.isLocal(url) ? FileSystem.resolved(url) : RemoteRepository.normalized(url)
        if let problem = ArchiveDestinations.problem(with: name) { throw problem }
        if ArchiveDestinations.isLocal(name), name == layout.root || name.hasPrefix(layout.root + "/") {
            throw .invalidSetting(.repository, value: url, problem: "inside the repository \(layout.root); a remote is a copy kept elsewhere. Choose another place.")
        }
        return try transact { (c: inout ControlFile) throws(EngineError) -> RemoteRepository in
            if c.remoteRepositories.contains(where: { $0.url == name }) {
                throw .invalidArgument("\(name) is already a remote of \(databasePath); remove it first to change its mode (`cairn configure \(databasePath) remote remove \(name)`).")
            }
            let remote = RemoteRepository(url: name, mode: mode)
            c.remoteRepositories.append(remote)
            let archive = remote.archiveDestination(dbid: c.dbid)
            if mode == .sync && !c.redo.archiveDestinations.contains(archive) { c.redo.archiveDestinations.append(archive) }
            if let minSucceed {
                guard (1...c.redo.archiveDestinations.count).contains(minSucceed) else {
                    throw .invalidSetting(.minSucceed, value: "\(minSucceed)", problem: "must be between 1 and the \(c.redo.archiveDestinations.count) archive destination(s), a sync remote's archive included.")
                }
                c.redo.minSucceed = minSucceed
            }
            return remote
        }
    }

    /// `cairn configure DB remote remove URL`: nothing more is copied there (what is there
    /// stays); copies of logs it still lacked are dropped from the log records.
    package func removeRemote(_ url: String) throws(EngineError) {
        let name = ArchiveDestinations.isLocal(url) ? FileSystem.resolved(url) : RemoteRepository.normalized(url)
        try transact { (c: inout ControlFile) throws(EngineError) in
            guard let remote = c.remoteRepositories.first(where: { $0.url == name }) else {
                throw .invalidArgument("\(name) is not a remote of \(databasePath); `cairn configure \(databasePath) remote list` shows them.")
            }
            let archive = remote.archiveDestination(dbid: c.dbid)
            if remote.mode == .sync && c.redo.archiveDestinations.count == 1 {
                throw .invalidArgument("\(name) holds the only archive destination of \(databasePath); add another archive destination before removing it.")
            }
            c.remoteRepositories.removeAll { $0.url == name }
            c.redo.archiveDestinations.removeAll { $0 == archive }
            c.redo.minSucceed = min(c.redo.minSucceed, max(1, c.redo.archiveDestinations.count))
            for li in c.redo.logs.indices {
                c.redo.logs[li].destinations.removeAll { $0.destination == archive && $0.state != .archived }
                Archiver.settle(&c, logIndex: li)
            }
        }
    }

    /// Adds the object-storage requests this process sent since it last recorded them to the
    /// control file (nothing is written when there were none).
    func recordObjectRequests() {
        let growth = ObjectRequests.takeGrowth()
        guard !growth.isEmpty else { return }
        do throws(EngineError) {
            try transact { (c: inout ControlFile) throws(EngineError) in
                var counts = c.objectRequests ?? [:]
                for (kind, n) in growth { counts[kind, default: 0] += n }
                c.objectRequests = counts
            }
        } catch {
            logger.warning("could not record the object-storage request counts: \(error.description)")
        }
    }

    /// How far behind each remote is (no request is made).
    package var remoteLag: [RemoteLag] { RemoteShipper(database: self, logger: logger).lag() }

    /// Copies now what the remotes (or the one named `only`) lack, ignoring retry delays.
    package func syncRemotes(only: String? = nil, monitor: OperationMonitor = OperationMonitor()) -> RemoteShipper.Report {
        RemoteShipper(database: self, logger: logger, monitor: monitor).shipPending(force: true, only: only)
    }

    /// After a backup or an archive pass: copies what the remotes lack; a remote that fails is
    /// said in a warning (the capture process or the next command catches it up).
    @discardableResult
    package func shipToRemotes(after what: String, monitor: OperationMonitor = OperationMonitor()) -> RemoteShipper.Report {
        guard !control.remoteRepositories.isEmpty else { return RemoteShipper.Report() }
        let report = syncRemotes(monitor: monitor)
        for f in report.failures {
            logger.warning("\(what) is not yet copied to every remote: \(f); it is copied by `cairn archive --follow`, the next backup, or `cairn configure \(databasePath) remote sync`")
        }
        return report
    }
}
