import Foundation
import CairnFormats
import CairnCatalog

/// Downloads a backup's files from a remote repository into a staged repository the first
/// time a restore reads that backup (see `BackupFileFetcher`), several at once: each file to
/// a temporary name, checked against the XXH3 stored with it, then renamed into place.
struct RemoteBackupFetcher: BackupFileFetcher {
    /// The database's repository at the remote (URL/DBID).
    let root: String

    func fetch(_ directory: String, into localRoot: String) throws(EngineError) {
        let folder = ArchiveDestinations.resolve(root + "/" + directory)
        let local = localRoot + "/" + directory
        try FileSystem.makeDirectories(local)
        let missing = try folder.list().filter { FileSystem.fileSize(local + "/" + $0.name) != $0.bytes }
        try Self.download(missing.map(\.name), from: folder, into: local)
    }

    /// Downloads `names` from `folder` into the directory `local`, `RemoteShipper.width` at once.
    static func download(_ names: [String], from folder: any ArchiveDestination, into local: String) throws(EngineError) {
        let errors = FanOut.run(names.count, width: RemoteShipper.width + 1) { (i: Int) throws(EngineError) in
            let temp = local + "/.download-" + names[i]
            FileSystem.removeFile(temp)
            do throws(EngineError) {
                try folder.fetch(names[i], to: temp)
                try FileSystem.rename(temp, local + "/" + names[i])
            } catch {
                FileSystem.removeFile(temp)
                throw error
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
    }
}
