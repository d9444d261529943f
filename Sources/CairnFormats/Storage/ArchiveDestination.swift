import Foundation

/// Where archived logs go. Features use only this interface, so object storage can take
/// the place of a local directory without touching them.
package protocol ArchiveDestination: Sendable {
    /// How the destination is named in the control file and in messages.
    var name: String { get }
    /// Stores `localPath` durably as `fileName`; returns only once it is durable.
    func put(localPath: String, as fileName: String) throws(EngineError)
    /// Re-reads `fileName` and checks its size and XXH3.
    func verify(_ fileName: String, bytes: UInt64, xxh3: String) throws(EngineError)
    /// A local path from which `fileName` can be read (downloading it first if needed).
    func localCopy(of fileName: String) throws(EngineError) -> String
    func exists(_ fileName: String) -> Bool
    /// Size of `fileName` at the destination, or nil when it is not there.
    func size(of fileName: String) -> UInt64?
    /// Size of `fileName`, nil when it is not there; throws when the destination cannot tell
    /// (object storage unreachable, credentials refused), so that a crosscheck does not take
    /// an outage for a loss. Defaults to `size(of:)`.
    func checkedSize(of fileName: String) throws(EngineError) -> UInt64?
    /// First step of a deletion: makes `fileName` unreachable (renamed aside). Returns false
    /// when it is not there.
    func retire(_ fileName: String) throws(EngineError) -> Bool
    /// Puts a retired copy back (its deletion could not be recorded).
    func unretire(_ fileName: String)
    /// Last step of a deletion: removes the retired copy of `fileName`, or every leftover
    /// retired copy when nil.
    func purgeRetired(_ fileName: String?)
    /// Every file directly under the destination (not in sub-folders), with its size: one
    /// listing request for object storage. Throws when the destination cannot be asked.
    func list() throws(EngineError) -> [ListedFile]
    /// Names of the sub-folders directly under the destination.
    func folders() throws(EngineError) -> [String]
    /// Stores `localPath` durably as `fileName`, replacing the file there (a catalog copy,
    /// rewritten as it changes); `put` never replaces.
    func replace(localPath: String, as fileName: String) throws(EngineError)
    /// Writes `fileName` to the new file `path` (downloaded straight there for object
    /// storage), checked against what the destination recorded at upload.
    func fetch(_ fileName: String, to path: String) throws(EngineError)
    /// Removes `fileName` at once (files of a backup deleted from the repository); nothing
    /// to do when it is not there.
    func remove(_ fileName: String) throws(EngineError)
    /// Abandons uploads under the destination that were started before `cutoff` and never
    /// completed (multipart uploads of a killed process, which object storage keeps, and
    /// bills, until aborted); returns how many. Nothing to do for a directory.
    func abortAbandonedUploads(olderThan cutoff: Date) throws(EngineError) -> Int
}

extension ArchiveDestination {
    package func checkedSize(of fileName: String) throws(EngineError) -> UInt64? { size(of: fileName) }

    package func abortAbandonedUploads(olderThan cutoff: Date) throws(EngineError) -> Int { 0 }

    /// A sub-folder of this destination as a destination of its own (same kind, same
    /// configuration): `NAME/folder`.
    package func folder(_ path: String) -> any ArchiveDestination { ArchiveDestinations.resolve(name + "/" + path) }
}

/// An archive destination in a local (or mounted) directory.
package struct LocalDirectoryDestination: ArchiveDestination {
    package let directory: String
    package var name: String { directory }

    package init(directory: String) { self.directory = FileSystem.absolute(directory) }

    package func put(localPath: String, as fileName: String) throws(EngineError) {
        try FileSystem.makeDirectories(directory)
        let target = directory + "/" + fileName
        // A name of its own: two processes (or threads) copying the same log never share one.
        let temp = directory + "/." + fileName + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(EngineError) {
            try FileSystem.copyDurably(from: localPath, to: temp)
            try FileSystem.rename(temp, target)
            try FileSystem.fsyncDirectory(directory)
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    package func verify(_ fileName: String, bytes: UInt64, xxh3: String) throws(EngineError) {
        let path = directory + "/" + fileName
        guard let size = FileSystem.fileSize(path) else { throw .missingFile(path: path, detail: "archived log") }
        if size != bytes { throw .truncated(file: path, expected: bytes, actual: size) }
        let h = Hash.hex(try FileSystem.hashFile(path))
        if h != xxh3 { throw .corrupt(file: path, offset: nil, detail: "archived log checksum \(h) differs from the recorded \(xxh3)") }
    }

    package func localCopy(of fileName: String) throws(EngineError) -> String {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "archived log") }
        return path
    }

    package func exists(_ fileName: String) -> Bool { FileSystem.exists(directory + "/" + fileName) }

    package func size(of fileName: String) -> UInt64? { FileSystem.fileSize(directory + "/" + fileName) }

    static let retiredSuffix = ".deleting"
    func retiredPath(_ fileName: String) -> String { directory + "/." + fileName + Self.retiredSuffix }

    package func retire(_ fileName: String) throws(EngineError) -> Bool {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else { return false }
        try FileSystem.rename(path, retiredPath(fileName))
        try FileSystem.fsyncDirectory(directory)
        return true
    }

    package func unretire(_ fileName: String) {
        try? FileSystem.renameNoReplace(retiredPath(fileName), directory + "/" + fileName)
    }

    package func list() throws(EngineError) -> [ListedFile] {
        guard FileSystem.isDirectory(directory) else { return [] }
        return FileSystem.list(directory).compactMap { name in
            let path = directory + "/" + name
            guard !name.hasPrefix("."), !FileSystem.isDirectory(path), let bytes = FileSystem.fileSize(path) else { return nil }
            return ListedFile(name: name, bytes: bytes, modifiedAt: FileSystem.modificationDate(path))
        }
    }

    package func folders() throws(EngineError) -> [String] {
        FileSystem.list(directory).filter { !$0.hasPrefix(".") && FileSystem.isDirectory(directory + "/" + $0) }
    }

    package func replace(localPath: String, as fileName: String) throws(EngineError) {
        try FileSystem.makeDirectories(directory)
        try FileSystem.atomicWrite(try FileSystem.readAll(localPath), to: directory + "/" + fileName)
    }

    package func fetch(_ fileName: String, to path: String) throws(EngineError) {
        try FileSystem.copyDurably(from: try localCopy(of: fileName), to: path)
    }

    package func remove(_ fileName: String) throws(EngineError) {
        FileSystem.removeFile(directory + "/" + fileName)
        if FileSystem.list(directory).isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    package func purgeRetired(_ fileName: String?) {
        if let fileName {
            FileSystem.removeFile(retiredPath(fileName))
            return
        }
        for name in FileSystem.list(directory) where name.hasPrefix(".") && name.hasSuffix(Self.retiredSuffix) {
            FileSystem.removeFile(directory + "/" + name)
        }
    }
}
