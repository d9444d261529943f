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
        // Uploads a killed process left unfinished for a day are aborted (they cost until then).
        for remote in c.remoteRepositories {
            do throws(EngineError) {
                let n = try ArchiveDestinations.resolve(remote.root(dbid: c.dbid)).abortAbandonedUploads(olderThan: Date().addingTimeInterval(-Self.abandonedUploadAge))
                if n > 0 { logger.info("aborted \(n) unfinished upload(s) under \(remote.root(dbid: c.dbid))") }
            } catch {
                logger.warning("could not look for unfinished uploads under \(remote.root(dbid: c.dbid)): \(error.description)")
            }
        }
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
}
