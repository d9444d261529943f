import Foundation
import CairnFormats
import CairnCatalog

/// A snapshot as `cairn snapshot list` and the commands that make or read one report it.
package struct SnapshotInfo: Sendable, Codable, Equatable {
    package var name: String
    package var path: String
    package var dbid: String
    package var scn: UInt64
    package var time: Date
    package var incarnation: Int
    package var release: String
    package var format: Int
    package var pages: UInt32
    package var pageSize: Int
    package var bytes: UInt64
    package var encrypted: Bool
    /// Why the file cannot be read (listings show damaged or newer files too).
    package var problem: String?
    /// Whether a restore ran SQLite's integrity_check on the database it built.
    package var integrityChecked: Bool?

    init(_ h: SnapshotHeader, path: String, bytes: UInt64) {
        name = h.name
        self.path = path
        dbid = h.dbid
        scn = h.scn
        time = h.time
        incarnation = h.incarnation
        release = h.release
        format = h.format
        pages = h.pages
        pageSize = h.pageSize
        self.bytes = bytes
        encrypted = h.masterKeyID != nil
    }
}

extension Catalog {
    /// Where the repository keeps its snapshots (`NAME.csnap`).
    package var snapshotsDirectory: String { StoredSnapshot.directory(root: layout.root) }

    package static let snapshotExtension = StoredSnapshot.fileExtension

    /// Writes a snapshot of the database as of `target` (nil: now, the live database read as
    /// one consistent snapshot while the application goes on; otherwise restored to a
    /// temporary file first) into the repository, named `name` (default `snap-TIME`).
    package func createSnapshot(name: String?, target: RecoveryTarget?, incarnation: Int? = nil, time pointTime: Date? = nil,
                                monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> SnapshotInfo {
        let name = try Self.snapshotName(name ?? "snap-" + Self.compactTime(Date()))
        let dest = snapshotsDirectory + "/" + name + Self.snapshotExtension
        if FileSystem.exists(dest) {
            throw .invalidArgument("A snapshot named \(name) exists already (\(dest)). Choose another --name, or drop it first with `cairn snapshot drop \(databasePath) \(name)`.")
        }
        try FileSystem.makeDirectories(snapshotsDirectory)
        try recoveryAreaBeforeSnapshot()
        let keys = try writingKeys()
        let keyring = keys == nil ? nil : try FileSystem.readAll(layout.keyringFile)
        var writer = SnapshotWriter()
        writer.monitor = monitor
        let mode = control.fileMode ?? FileMode.of(file: databasePath) ?? .ownerOnly
        let written: SnapshotHeader
        if let target {
            written = try snapshotOfPast(target, incarnation: incarnation, time: pointTime, name: name, dest: dest,
                                         writer: writer, keys: keys, keyring: keyring, mode: mode, monitor: monitor)
        } else {
            let operation = try beginOperation(.writing, purpose: "take a snapshot")
            defer { operation.end() }
            let source = try snapshotSource()
            let (snapshot, scn, _) = try BackupEngine.snapshot(databasePath, layout: layout, scnAtSnapshot: source.scn)
            defer { snapshot.close() }
            let header = SnapshotHeader(name: name, database: (databasePath as NSString).lastPathComponent, dbid: control.dbid, scn: scn,
                                        time: Date(), incarnation: control.incarnation, pageSize: snapshot.pageSize, pages: snapshot.pageCount)
            written = try writer.write(snapshot, header: header, to: dest, dbid: dbid, keys: keys, keyring: keyring, permissions: mode)
        }
        return SnapshotInfo(written, path: dest, bytes: FileSystem.fileSize(dest) ?? 0)
    }

    /// A past point: restored beside the snapshots (every check a restore makes), then written.
    private func snapshotOfPast(_ target: RecoveryTarget, incarnation: Int?, time: Date?, name: String, dest: String,
                                writer: SnapshotWriter, keys: UnlockedKeyring?, keyring: [UInt8]?, mode: FileMode,
                                monitor: OperationMonitor) throws(EngineError) -> SnapshotHeader {
        let temp = snapshotsDirectory + "/." + name + ".restoring-\(getpid()).db"
        defer { for suffix in ["", "-wal", "-shm"] { FileSystem.removeFile(temp + suffix) } }
        let r = try restoreNewFile(temp, target: target, backup: nil, force: true, allowIncomplete: false,
                                   incarnation: incarnation, monitor: monitor)
        let snapshot = try DatabaseSnapshot(databasePath: temp)
        defer { snapshot.close() }
        let header = SnapshotHeader(name: name, database: (databasePath as NSString).lastPathComponent, dbid: control.dbid, scn: r.scn,
                                    time: time ?? pointTime(r.scn, incarnation: r.incarnation), incarnation: r.incarnation,
                                    pageSize: snapshot.pageSize, pages: snapshot.pageCount)
        return try writer.write(snapshot, header: header, to: dest, dbid: dbid, keys: keys, keyring: keyring, permissions: mode)
    }

    /// When `scn` committed, as closely as the logs' records tell (the newest commit time of
    /// the log holding it), else now.
    func pointTime(_ scn: UInt64, incarnation: Int) -> Date {
        let log = control.redo.logs.first { $0.incarnation == incarnation && $0.lowScn <= scn && scn <= $0.highScn }
        if let log, log.highScn == scn, let t = log.highTime { return t }
        return log?.highTime ?? Date()
    }

    /// The repository's snapshots, newest SCN first; a file that cannot be read is listed with why.
    package func listSnapshots() -> [SnapshotInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshotsDirectory)) ?? []
        return names.filter { $0.hasSuffix(Self.snapshotExtension) && !$0.hasPrefix(".") }.sorted().map { file in
            let path = snapshotsDirectory + "/" + file
            do throws(EngineError) {
                return try Self.describeSnapshot(path)
            } catch {
                var info = SnapshotInfo(SnapshotHeader(name: String(file.dropLast(Self.snapshotExtension.count)), database: "", dbid: "",
                                                       scn: 0, time: Date(timeIntervalSince1970: 0), incarnation: 0, pageSize: 0, pages: 0),
                                        path: path, bytes: FileSystem.fileSize(path) ?? 0)
                info.problem = error.description
                return info
            }
        }.sorted { ($0.scn, $0.name) > ($1.scn, $1.name) }
    }

    /// The snapshot named `name` in the repository (its path), or an error listing what there is.
    package func snapshotPath(_ name: String) throws(EngineError) -> String {
        let path = snapshotsDirectory + "/" + name + Self.snapshotExtension
        guard FileSystem.exists(path) else {
            let known = listSnapshots().map(\.name)
            throw .invalidArgument("No snapshot named \(name) in \(snapshotsDirectory)" + (known.isEmpty ? " (there is none; make one with `cairn snapshot create \(databasePath)`)." : "; there are: \(known.joined(separator: ", ")) (`cairn snapshot list \(databasePath)`)."))
        }
        return path
    }

    /// Removes a snapshot from the repository.
    package func dropSnapshot(_ name: String) throws(EngineError) {
        let path = try snapshotPath(name)
        guard unlink(path) == 0 else { throw EngineError.fromErrno("unlink", path, errno) }
        try FileSystem.fsyncDirectory(snapshotsDirectory)
    }

    /// Copies a snapshot, verified first, to `to` (a new file, with the mode of Cairn's files).
    package func exportSnapshot(_ name: String, to: String, force: Bool = false, monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> SnapshotInfo {
        let path = try snapshotPath(name)
        let info = try Self.verifySnapshot(path, rememberedKeyFile: control.encryption?.keyFile, monitor: monitor)
        var out = info
        if let (prefix, file) = Self.objectLocation(to, name: name) {
            let dest = Archiver.destination(prefix)
            if !force && dest.exists(file) { throw .targetExists(path: prefix + "/" + file) }
            try dest.put(localPath: path, as: file)
            try dest.verify(file, bytes: FileSystem.fileSize(path) ?? 0, xxh3: Hash.hex(try FileSystem.hashFile(path)))
            out.path = prefix + "/" + file
            return out
        }
        try Self.copySnapshot(path, to: FileSystem.resolved(to), force: force, mode: control.fileMode ?? FileMode.of(file: databasePath) ?? .ownerOnly)
        out.path = FileSystem.resolved(to)
        return out
    }

    /// `s3://BUCKET/PREFIX[/FILE.csnap]`: the prefix and the object's file name (`name.csnap`
    /// when the URL names none); nil for a local path.
    static func objectLocation(_ url: String, name: String) -> (prefix: String, file: String)? {
        guard url.hasPrefix("s3://") else { return nil }
        let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
        if trimmed.hasSuffix(snapshotExtension), let slash = trimmed.lastIndex(of: "/"), trimmed.distance(from: trimmed.startIndex, to: slash) > 5 {
            return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
        }
        return (trimmed, name + snapshotExtension)
    }

    /// A snapshot to read: a local file as it is, or `s3://…/FILE.csnap` downloaded (and its
    /// size checked) into the destination's local cache first.
    package static func localSnapshot(_ location: String) throws(EngineError) -> String {
        guard let (prefix, file) = objectLocation(location, name: "") , file != snapshotExtension else {
            if location.hasPrefix("s3://") { throw .invalidArgument("\(location) names no snapshot object; give s3://BUCKET/PREFIX/NAME.csnap.") }
            return FileSystem.resolved(location)
        }
        let dest = Archiver.destination(prefix)
        guard dest.exists(file) else { throw .missingFile(path: location, detail: "no such object") }
        return try dest.localCopy(of: file)
    }

    // MARK: - Reading a snapshot file (no repository needed)

    /// The header of a snapshot file, checked (format and release first).
    package static func describeSnapshot(_ path: String) throws(EngineError) -> SnapshotInfo {
        let file = try RawFile(path: path, mode: .read)
        var bytes = [UInt8](repeating: 0, count: SnapshotHeader.size)
        let n = try bytes.withMutableBytes { (p, count) throws(EngineError) in try file.read(into: p, count: count, at: 0) }
        guard n == SnapshotHeader.size else { throw .truncated(file: path, expected: UInt64(SnapshotHeader.size), actual: UInt64(n)) }
        return SnapshotInfo(try SnapshotHeader.decode(bytes, file: path), path: path, bytes: try file.size())
    }

    /// Reads every byte of a snapshot file and checks it all, writing nothing.
    package static func verifySnapshot(_ path: String, rememberedKeyFile: String? = nil,
                                       monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> SnapshotInfo {
        let s = try SnapshotFile(path: path, rememberedKeyFile: rememberedKeyFile)
        let map = try s.reader(monitor: monitor).read(label: "verify snapshot", into: PageHashes(pageSize: s.header.pageSize)).map
        guard Hash.hex(map.state) == s.manifest.stateChecksum else {
            throw .verificationFailed(file: path, detail: "the snapshot's pages do not sum to its recorded state checksum")
        }
        return SnapshotInfo(s.header, path: path, bytes: FileSystem.fileSize(path) ?? 0)
    }

    /// Restores a snapshot file into a new database file at `dest`: every byte verified and the
    /// state checked (the file is then, page for page, the database the snapshot was taken
    /// of), with `integrityCheck` SQLite's integrity_check passed too, then moved into place.
    package static func restoreSnapshot(_ path: String, to dest: String, force: Bool = false, integrityCheck: Bool = false,
                                        monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> SnapshotInfo {
        let target = FileSystem.resolved(dest)
        if !force && FileSystem.exists(target) { throw .targetExists(path: target) }
        let s = try SnapshotFile(path: path)
        let built = try build(s, beside: target, integrityCheck: integrityCheck, monitor: monitor)
        try RestoreEngine.place(built.path, at: target, force: force)
        var info = SnapshotInfo(s.header, path: path, bytes: FileSystem.fileSize(path) ?? 0)
        info.integrityChecked = integrityCheck
        return info
    }

    /// Replaces the live database with a snapshot of it (its DBID), as `restore --in-place`
    /// does: refused while another process has the database open; in ARCHIVELOG mode what is
    /// committed is captured and archived first (the branch left stays reachable); a point
    /// before the newest opens a new incarnation.
    package func restoreSnapshotInPlace(_ path: String, integrityCheck: Bool = false,
                                        monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> SnapshotInfo {
        let s = try SnapshotFile(path: FileSystem.resolved(path), rememberedKeyFile: control.encryption?.keyFile)
        guard s.header.dbid == control.dbid else {
            throw .invalidArgument("\(s.path) is a snapshot of DBID \(s.header.dbid) (\(s.header.database)), not of \(databasePath) (DBID \(control.dbid)): a snapshot replaces only the database it was taken of. Restore it into a new file with `cairn snapshot restore \(s.path) --to PATH`; nothing was changed.")
        }
        let operation = try beginOperation(.exclusive, purpose: "replace the live database (restore a snapshot in place)")
        defer { operation.end() }
        try ensureLiveDatabaseFree()
        let lock: CaptureLock? = control.redo.mode == .archivelog ? try captureLock() : nil
        defer { _ = lock }
        let built = try Self.build(s, beside: databasePath, integrityCheck: integrityCheck, monitor: monitor)
        let known = control.incarnations.contains { $0.number == s.header.incarnation }
        try swapIn(built.path, scn: s.header.scn, parent: known ? s.header.incarnation : control.incarnation, map: built.map, captured: lock != nil)
        var info = SnapshotInfo(s.header, path: s.path, bytes: FileSystem.fileSize(s.path) ?? 0)
        info.integrityChecked = integrityCheck
        return info
    }

    /// The snapshot's database built in a temporary file beside `target`; its path.
    static func build(_ s: SnapshotFile, beside target: String, integrityCheck: Bool,
                      monitor: OperationMonitor) throws(EngineError) -> (path: String, map: PageMap) {
        let dir = FileSystem.parent(of: target)
        guard FileSystem.isDirectory(dir) else { throw .missingFile(path: dir, detail: "the directory to restore into does not exist") }
        let temp = dir + "/." + (target as NSString).lastPathComponent + ".cairn-restore-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            let mode = FileMode.of(file: s.path) ?? .ownerOnly
            let file = try RawFile(path: temp, mode: .createNew, permissions: mode)
            let pages = Int(s.header.pages), pageSize = s.header.pageSize
            try file.preallocate(UInt64(pages) * UInt64(pageSize))
            let restored = try s.reader(monitor: monitor).read(label: "restore snapshot", into: RestoredPages(bulk: file, file: file, pages: pages, pageSize: pageSize))
            guard Hash.hex(restored.map.state) == s.manifest.stateChecksum else {
                throw .verificationFailed(file: s.path, detail: "the snapshot's pages do not sum to its recorded state checksum")
            }
            try file.truncate(to: UInt64(pages) * UInt64(pageSize))
            try file.sync()
            if integrityCheck { try IntegrityCheck.require(temp, built: "snapshot \(s.header.name) (SCN \(s.header.scn))", for: target) }
            return (temp, restored.map)
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    static func copySnapshot(_ path: String, to dest: String, force: Bool, mode: FileMode) throws(EngineError) {
        if !force && FileSystem.exists(dest) { throw .targetExists(path: dest) }
        let temp = FileSystem.parent(of: dest) + "/." + (dest as NSString).lastPathComponent + ".partial-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            let from = try RawFile(path: path, mode: .read)
            let to = try RawFile(path: temp, mode: .createNew, permissions: mode)
            let size = try from.size(), chunk = 4 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
            defer { buffer.deallocate() }
            var at: UInt64 = 0
            while at < size {
                let n = Int(min(UInt64(chunk), size - at))
                try from.readExactly(into: buffer, count: n, at: at)
                try to.write(buffer, count: n, at: at)
                at += UInt64(n)
            }
            try to.sync()
            try FileSystem.rename(temp, dest)
            try FileSystem.fsyncDirectory(FileSystem.parent(of: dest))
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    /// A snapshot name: letters, digits, `.`, `_` and `-`, at most 64, not starting with `.`.
    static func snapshotName(_ name: String) throws(EngineError) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 64, !name.hasPrefix("."), name.allSatisfy({ allowed.contains($0) }) else {
            throw .invalidArgument("'\(name)' is not a snapshot name: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'.")
        }
        return name
    }

    static func compactTime(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
    }
}

/// The page hashes of a verified read (nothing written): the state to check.
struct PageHashes: BackupBlockSink {
    var map: PageMap
    init(pageSize: Int) { map = PageMap(pageSize: pageSize, hashes: []) }
    mutating func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) throws(EngineError) {
        for i in hashes.indices { map.append(hashes[i]) }
    }
}
