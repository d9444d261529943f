import Foundation
import CairnFormats
import CairnCatalog

extension RemoteShipper {
    /// The identity document, stored once (never replaced: a different one there means
    /// another database's repository under the same DBID folder).
    func storeIdentity(_ remote: RemoteRepository, dbid: String, first: Bool) throws(EngineError) {
        guard first else { return }
        let root = ArchiveDestinations.resolve(remote.root(dbid: dbid))
        let file = database.layout.identityFile
        let name = (file as NSString).lastPathComponent
        try root.put(localPath: file, as: name)
        try root.verify(name, bytes: FileSystem.fileSize(file) ?? 0, xxh3: Hash.hex(try FileSystem.hashFile(file)))
    }

    /// Copies logs to an asynchronous remote's archive, from the online member while it holds
    /// the log, else from an archived copy; each is recorded once verified there.
    func shipLogs(_ logs: [LogRecord], to remote: RemoteRepository, control c: ControlFile) throws(EngineError) -> Int {
        let name = remote.archiveDestination(dbid: c.dbid)
        let dest = ArchiveDestinations.resolve(name)
        let archiver = Archiver(database: database, logger: logger)
        var stored = 0
        for log in logs {
            let source = try self.source(of: log, archiver: archiver, except: name)
            do throws(EngineError) {
                try dest.put(localPath: source, as: log.fileName)
                try dest.verify(log.fileName, bytes: log.bytes, xxh3: log.xxh3)
            } catch {
                recordLog(log, at: name, error: error.description)
                throw error
            }
            recordLog(log, at: name, error: nil)
            stored += 1
        }
        return stored
    }

    private func source(of log: LogRecord, archiver: Archiver, except remote: String) throws(EngineError) -> String {
        if let online = try? archiver.onlineSource(log) { return online }
        var looked: [String] = []
        for d in log.destinations where d.state == .archived && d.destination != remote {
            looked.append(d.destination)
            if let path = try? ArchiveDestinations.resolve(d.destination).localCopy(of: log.fileName),
               (try? FileSystem.hashFile(path)).map(Hash.hex) == log.xxh3 { return path }
        }
        throw .missingLog(sequence: log.sequence, incarnation: log.incarnation, looked: looked, recoveredTo: 0)
    }

    private func recordLog(_ log: LogRecord, at name: String, error: String?) {
        do throws(EngineError) {
            try database.transact { (c: inout ControlFile) throws(EngineError) in
                guard let li = c.redo.logs.firstIndex(where: { $0.key == log.key }),
                      let di = c.redo.logs[li].destinations.firstIndex(where: { $0.destination == name }) else { return }
                c.redo.logs[li].destinations[di].attempts += 1
                c.redo.logs[li].destinations[di].error = error
                c.redo.logs[li].destinations[di].state = error == nil ? .archived : .failed
                if error == nil { c.redo.logs[li].destinations[di].archivedAt = Date() }
            }
        } catch {
            logger.error("could not record log sequence \(log.sequence) at \(name): \(error.description)")
        }
    }

    /// Uploads every file of backup `b` its manifest lists (the manifest last), each checked
    /// first in the repository against the manifest's XXH3 (a damaged file is never copied)
    /// and then at the remote, then recounts them in a listing of the backup's folder: the
    /// same names and sizes as recorded. Recorded as stored only then.
    func shipBackup(_ b: BackupRecord, to remote: RemoteRepository, dbid: String) throws(EngineError) -> Int {
        let local = database.layout.root + "/" + b.directory
        let m = try BackupManifest.read(directory: local)
        let pieces = m.files + (m.pageMap.map { [$0] } ?? [])
        let folder = ArchiveDestinations.resolve(remote.backupFolder(dbid: dbid, directory: b.directory))
        let meter = ProgressMeter(label: "copy backup \(b.id) to \(remote.url)", totalBytes: pieces.map(\.bytes).reduce(0, +), monitor: monitor)
        let errors = FanOut.run(pieces.count, width: Self.width) { (i: Int) throws(EngineError) in
            try Self.upload(local + "/" + pieces[i].name, as: pieces[i].name, bytes: pieces[i].bytes, xxh3: pieces[i].xxh3, to: folder)
            try meter.advance(pieces[i].bytes)
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        meter.finish()
        let manifest = local + "/" + BackupManifest.fileName
        try Self.upload(manifest, as: BackupManifest.fileName, bytes: FileSystem.fileSize(manifest) ?? 0,
                        xxh3: Hash.hex(try FileSystem.hashFile(manifest)), to: folder)
        let expected = pieces.map { ($0.name, $0.bytes) } + [(BackupManifest.fileName, FileSystem.fileSize(manifest) ?? 0)]
        try recount(expected, at: folder, backup: b.id)
        record(remote.url) { r in if !r.backups.contains(b.id) { r.backups.append(b.id) } }
        return expected.count
    }

    /// Uploads `path` as `name` unless the remote already holds it with this size and XXH3;
    /// a file whose XXH3 is not `xxh3` is damaged and never sent.
    static func upload(_ path: String, as name: String, bytes: UInt64, xxh3: String, to folder: any ArchiveDestination) throws(EngineError) {
        let actual = Hash.hex(try FileSystem.hashFile(path))
        guard actual == xxh3 else {
            if (try? folder.verify(name, bytes: bytes, xxh3: xxh3)) != nil { return }  // the remote's copy is good
            throw .corrupt(file: path, offset: nil, detail: "its XXH3 is \(actual), the manifest records \(xxh3); it is not copied to \(folder.name). Run `cairn validate` and take a new backup")
        }
        try folder.put(localPath: path, as: name)
        try folder.verify(name, bytes: bytes, xxh3: xxh3)
    }

    /// The files in the remote folder must be exactly `files`, each of its recorded size.
    private func recount(_ files: [(name: String, bytes: UInt64)], at folder: any ArchiveDestination, backup id: UInt64) throws(EngineError) {
        let listed = Dictionary(try folder.list().map { ($0.name, $0.bytes) }, uniquingKeysWith: { a, _ in a })
        for f in files where listed[f.name] != f.bytes {
            throw .verificationFailed(file: folder.name + "/" + f.name, detail: "after the upload of backup \(id) the listing shows \(listed[f.name].map { "\($0) bytes" } ?? "no such file") where the backup has \(f.bytes) bytes; it is uploaded again on the next pass")
        }
        if listed.count != files.count {
            let extra = Set(listed.keys).subtracting(files.map(\.name)).sorted()
            throw .verificationFailed(file: folder.name, detail: "after the upload of backup \(id) the folder holds \(listed.count) files, the backup \(files.count) (extra: \(extra.joined(separator: ", "))); remove what does not belong to backup \(id) there")
        }
    }

    /// Removes the files of a backup deleted from the repository.
    func removeBackup(_ id: UInt64, from remote: RemoteRepository, dbid: String) throws(EngineError) -> Int {
        let folder = ArchiveDestinations.resolve(remote.backupFolder(dbid: dbid, directory: "backups/" + RepositoryLayout.backupDirectoryName(id)))
        let files = try folder.list()
        // The manifest first: a folder without one is no backup to any reader.
        for f in files.sorted(by: { a, _ in a.name == BackupManifest.fileName }) { try folder.remove(f.name) }
        record(remote.url) { r in r.backups.removeAll { $0 == id } }
        return files.count
    }

    /// Replaces the copy of a repository document (the catalog, the keyring) at the remote,
    /// then checks it there by size, time and checksum: HEAD gives the size and the XXH3
    /// stored with it, the listing the size again and when it was written, which must not be
    /// before this upload began (else the service kept an older copy). Records which copy is
    /// there (`recordHash`), so it is not sent again until it changes.
    func shipDocument(_ file: String, to remote: RemoteRepository, dbid: String,
                      recordHash: @escaping (inout RemoteRepository, String) -> Void) throws(EngineError) -> Int {
        let root = ArchiveDestinations.resolve(remote.root(dbid: dbid))
        // A private snapshot: the document may be rewritten while it uploads.
        Leftovers.removeDead(".catalog-upload", in: database.layout.controlDirectory)
        let snapshot = Leftovers.name(".catalog-upload", in: database.layout.controlDirectory)
        try FileSystem.atomicWrite(try FileSystem.readAll(file), to: snapshot)
        defer { FileSystem.removeFile(snapshot) }
        let name = (file as NSString).lastPathComponent
        let hash = Hash.hex(try FileSystem.hashFile(snapshot)), bytes = FileSystem.fileSize(snapshot) ?? 0
        let started = Date()
        try root.replace(localPath: snapshot, as: name)
        try root.verify(name, bytes: bytes, xxh3: hash)
        let listed = try root.list().first { $0.name == name }
        guard let listed, listed.bytes == bytes else {
            throw .verificationFailed(file: root.name + "/" + name, detail: "after its upload the listing shows \(listed.map { "\($0.bytes) bytes" } ?? "no such object") where \(bytes) were sent; it is uploaded again on the next pass")
        }
        if let written = listed.modifiedAt, written < started.addingTimeInterval(-RemoteRepositoryReader.skew) {
            throw .verificationFailed(file: root.name + "/" + name, detail: "after its upload the listing says it was written at \(written), before the upload began (\(started)): the service kept an older copy, or its clock is far off; it is uploaded again on the next pass")
        }
        record(remote.url) { r in recordHash(&r, hash) }
        return 1
    }
}
