import Foundation
import Logging
import CairnFormats
import CairnCatalog

extension Catalog {
    /// A repository at a remote, staged in a private directory and opened as a repository
    /// alone (in memory, read-only): `cairn restore --repo s3://BUCKET/PREFIX`. The staging
    /// directory is made beside `near` (the restore's target, so the downloads land on its
    /// file system), or in the temporary directory; the caller removes it with `removeStaging`.
    package static func openRemoteRepository(_ url: String, dbid: String?, near: String?,
                                            logger: Logger = Logger(label: "cairn")) throws(EngineError) -> (Catalog, CatalogRebuilder.Report, staging: String) {
        let database = try RemoteRepositoryReader.database(at: url, dbid: dbid)
        let parent = near.map { FileSystem.parent(of: FileSystem.resolved($0)) } ?? String(NSTemporaryDirectory().dropLast())
        Leftovers.removeDead(".cairn-staging", in: parent)
        let staging = Leftovers.name(".cairn-staging", in: parent)
        if mkdir(staging, 0o700) != 0 { throw .fromErrno("create the staging directory for the remote repository", staging, errno) }
        do throws(EngineError) {
            logger.info("staging the repository of DBID \(database.dbid) from \(database.root) in \(staging)")
            let fetcher = try RemoteRepositoryReader.stage(database, into: staging, allBackupFiles: false)
            let (p, report) = try openRepositoryAlone(staging, fetcher: fetcher, logger: logger)
            return (p, report, staging)
        } catch {
            FileSystem.removeTree(staging)
            throw error
        }
    }

    /// Removes what `openRemoteRepository` staged.
    package static func removeStaging(_ staging: String) { FileSystem.removeTree(staging) }

    /// `cairn catalog rebuild DB --repo s3://…`: downloads the database's repository whole
    /// into its local repository directory (which must not hold one), rebuilds the control file
    /// from it, and keeps the remote as a remote.
    package static func rebuildFromRemote(database: String, url: String, dbid: String?, repository: String?,
                                         logger: Logger = Logger(label: "cairn"), wait: LockWaitPolicy = LockWaitPolicy()) throws(EngineError) -> (Catalog, CatalogRebuilder.Report) {
        let remote = try RemoteRepositoryReader.database(at: url, dbid: dbid)
        let root = FileSystem.resolved(repository ?? RepositoryLayout.defaultRoot(forDatabase: database))
        let layout = RepositoryLayout(root: root)
        if FileSystem.exists(layout.identityFile) {
            throw .invalidSetting(.repository, value: root, problem: "already holds a repository; rebuild from it with `cairn catalog rebuild \(database) --repo \(root)`, or move it away to rebuild from \(url).")
        }
        _ = try RemoteRepositoryReader.stage(remote, into: root, allBackupFiles: true)
        let (p, report) = try CatalogRebuilder.rebuild(database: database, repository: root, logger: logger, wait: wait)
        let mode = (try? RepositoryCatalog.read(layout))?.remotes?.first { $0.url == RemoteRepository.normalized(url) }?.mode ?? .async
        if !p.control.remoteRepositories.contains(where: { $0.url == RemoteRepository.normalized(url) }) {
            try p.addRemote(url, mode: mode)
        }
        return (p, report)
    }
}
