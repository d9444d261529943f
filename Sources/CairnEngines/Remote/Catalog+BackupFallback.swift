import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Runs `body` (a restore or validation reading backups through `reader(for:)`). When it
    /// fails on a file of a backup (missing, cut short, damaged) and a remote holds that
    /// backup, the remote's copy is downloaded into a private directory, checked as it
    /// arrives, used instead (a warning says so), and `body` runs again; each remote is tried
    /// once per backup. The downloaded copies are removed at the end.
    func withBackupFallback<T>(_ body: () throws(EngineError) -> T) throws(EngineError) -> T {
        var staged: [String] = []
        var tried: Set<String> = []
        defer {
            backupCopies = [:]
            for s in staged { FileSystem.removeTree(s) }
        }
        while true {
            do throws(EngineError) {
                return try body()
            } catch {
                guard let b = damagedBackup(error) else { throw error }
                let c = control
                guard let remote = c.remoteRepositories.first(where: { $0.backups.contains(b.id) && !tried.contains("\(b.id)@\($0.url)") }) else { throw error }
                tried.insert("\(b.id)@\(remote.url)")
                logger.warning("backup \(b.id) cannot be read from \(backupDirectory(b)): \(error.description) — taking its copy from the remote \(remote.root(dbid: c.dbid))")
                let scratch = try RemoteRepositoryReader.Scratch()
                staged.append(scratch.path)
                do throws(EngineError) {
                    try RemoteBackupFetcher(root: remote.root(dbid: c.dbid)).fetch(b.directory, into: scratch.path)
                } catch {
                    logger.warning("the copy of backup \(b.id) at \(remote.url) cannot be used either: \(error.description)")
                    continue
                }
                backupCopies[b.id] = scratch.path + "/" + b.directory
            }
        }
    }

    /// The backup whose file `error` names, if it names one.
    private func damagedBackup(_ error: EngineError) -> BackupRecord? {
        let path: String
        switch error {
        case let .corrupt(file, _, _), let .truncated(file, _, _), let .verificationFailed(file, _): path = file
        case let .missingFile(p, _), let .io(_, p, _): path = p
        default: return nil
        }
        return control.backups.first { b in
            let dir = backupDirectory(b)
            return path == dir || path.hasPrefix(dir + "/")
        }
    }
}
