import Foundation
import CairnFormats
import CairnCatalog

/// One backup recorded as stored at a remote, as `cairn crosscheck` found it there.
package struct RemoteBackupResult: Sendable, Codable, Equatable {
    package var remote: String
    package var id: UInt64
    /// AVAILABLE: every file there, of the recorded size; MISSING: not (it is copied again
    /// by the next pass while the repository still holds it); UNCHECKED: the remote could not be asked.
    package var status: String
    package var problem: String?
}

extension Catalog {
    /// Lists the folder of every backup a remote is recorded to hold and compares it with the
    /// backup's manifest (names and sizes). A backup found incomplete is no longer recorded as
    /// stored there, so the next pass copies it again (from the repository, while it holds it).
    /// How old an unfinished upload must be before a crosscheck aborts it (no live upload lasts that long).
    static let abandonedUploadAge: TimeInterval = 24 * 3600

    func crosscheckRemotes() -> [RemoteBackupResult] {
        let c = control
        var results: [RemoteBackupResult] = []
        for remote in c.remoteRepositories {
            for id in remote.backups.sorted() {
                let directory = "backups/" + RepositoryLayout.backupDirectoryName(id)
                let folder = ArchiveDestinations.resolve(remote.backupFolder(dbid: c.dbid, directory: directory))
                do throws(EngineError) {
                    let problem = try remoteProblem(folder, backup: id, directory: directory)
                    results.append(.init(remote: remote.url, id: id, status: problem == nil ? "AVAILABLE" : "MISSING", problem: problem))
                } catch {
                    results.append(.init(remote: remote.url, id: id, status: "UNCHECKED", problem: error.description))
                }
            }
        }
        // What a killed process left unfinished for a day goes (it costs until then).
        for remote in c.remoteRepositories { removeAbandonedUploads(at: remote, dbid: c.dbid) }
        let missing = results.filter { $0.status == "MISSING" }
        if !missing.isEmpty {
            try? transact { (c: inout ControlFile) throws(EngineError) in
                for m in missing {
                    guard let i = c.remoteRepositories.firstIndex(where: { $0.url == m.remote }) else { continue }
                    c.remotes![i].backups.removeAll { $0 == m.id }
                }
            }
        }
        return results
    }

    /// Why the remote `folder` does not hold backup `id` whole, nil when it does.
    private func remoteProblem(_ folder: any ArchiveDestination, backup id: UInt64, directory: String) throws(EngineError) -> String? {
        let listed = Dictionary(try folder.list().map { ($0.name, $0.bytes) }, uniquingKeysWith: { a, _ in a })
        guard listed[BackupManifest.fileName] != nil else { return "\(folder.name)/\(BackupManifest.fileName) is gone" }
        let local = layout.root + "/" + directory
        guard let m = try? BackupManifest.read(directory: local) else { return nil }  // nothing here to compare with
        for f in m.files + (m.pageMap.map { [$0] } ?? []) where listed[f.name] != f.bytes {
            return listed[f.name].map { "\(folder.name)/\(f.name) is \($0) bytes, the manifest records \(f.bytes)" } ?? "\(folder.name)/\(f.name) is gone"
        }
        return nil
    }

    /// Aborts the multipart uploads under the remote's folder started a day ago or more and
    /// never completed, and removes backup folders without a manifest whose files are all that
    /// old (a backup whose upload was cut before its manifest, and that was deleted from the
    /// repository before it was sent again). A folder with a manifest is never removed here.
    private func removeAbandonedUploads(at remote: RemoteRepository, dbid: String) {
        let cutoff = Date().addingTimeInterval(-Self.abandonedUploadAge)
        let root = ArchiveDestinations.resolve(remote.root(dbid: dbid))
        do throws(EngineError) {
            let n = try root.abortAbandonedUploads(olderThan: cutoff)
            if n > 0 { logger.info("aborted \(n) unfinished upload(s) under \(root.name)") }
            let known = Set(remote.backups.map(RepositoryLayout.backupDirectoryName))
            for name in try root.folder("backups").folders() where !known.contains(name) {
                let folder = root.folder("backups/" + name)
                let files = try folder.list()
                guard !files.contains(where: { $0.name == BackupManifest.fileName }),
                      files.allSatisfy({ ($0.modifiedAt ?? Date()) < cutoff }) else { continue }
                for f in files { try folder.remove(f.name) }
                logger.info("removed \(files.count) file(s) of an unfinished upload at \(folder.name)")
            }
        } catch {
            logger.warning("could not look for unfinished uploads under \(root.name): \(error.description)")
        }
    }
}
