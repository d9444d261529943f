import Foundation
import CairnFormats
import CairnCatalog

/// Writes a snapshot file (`SnapshotHeader`): the pages of a consistent database snapshot
/// compressed into one backup piece through the same pipeline as a level-0 backup (reading,
/// compressing and writing overlapped), encrypted when `keys` are given, then the manifest
/// and the final header. Written under a temporary name beside `dest`, re-read (the piece's
/// stored bytes against their XXH3, read back behind the writer), synced and renamed: a crash
/// leaves no snapshot or a whole one.
struct SnapshotWriter {
    var compressionLevel: Int32? = -1
    var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    var monitor = OperationMonitor()

    /// `keyring`: the keyring file's bytes (wrapped data keys) that `keys` were unlocked from.
    func write(_ snapshot: DatabaseSnapshot, header template: SnapshotHeader, to dest: String, dbid: UInt64,
               keys: UnlockedKeyring?, keyring: [UInt8]?, permissions: FileMode) throws(EngineError) -> SnapshotHeader {
        let temp = FileSystem.parent(of: dest) + "/." + (dest as NSString).lastPathComponent + ".partial-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            var header = template
            let keyringBytes = keys == nil ? [] : (keyring ?? [])
            header.masterKeyID = keys?.masterKeyID.description
            header.keyring = .init(offset: keyringBytes.isEmpty ? 0 : UInt64(SnapshotHeader.size), length: UInt64(keyringBytes.count))
            header.piece.offset = UInt64(SnapshotHeader.size + keyringBytes.count)
            let prefix = [UInt8](repeating: UInt8(ascii: "\n"), count: SnapshotHeader.size) + keyringBytes
            let readBack = ReadBackSlot()
            defer { readBack.value?.stop() }
            let (manifest, pieceHash) = try writePiece(snapshot, header: header, path: temp, dbid: dbid, keys: keys, prefix: prefix, readBack: readBack)
            // Never more readable than the database it holds.
            guard chmod(temp, mode_t(permissions.bits)) == 0 else { throw EngineError.fromErrno("chmod", temp, errno) }
            header.piece.length = manifest.files[0].bytes
            try verifyPiece(temp, region: header.piece, xxh3: pieceHash, readBack: readBack.value)
            try appendManifest(manifest, header: &header, path: temp)
            try FileSystem.rename(temp, dest)
            try FileSystem.fsyncDirectory(FileSystem.parent(of: dest))
            return header
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    /// The pages into one piece after `prefix`; the manifest describing it and the piece's XXH3.
    private func writePiece(_ snapshot: DatabaseSnapshot, header: SnapshotHeader, path: String, dbid: UInt64,
                            keys: UnlockedKeyring?, prefix: [UInt8], readBack: ReadBackSlot) throws(EngineError) -> (BackupManifest, String) {
        let started = Date()
        let pageSize = snapshot.pageSize
        let blockPages = try BackupEngine.blockPages(pageSize: pageSize, maxPieceSize: UInt64.max)
        let template = BackupPieceFormat.Header(version: FormatVersion.backupPiece, release: FormatVersion.releaseCode, dbid: dbid,
                                                backupSet: 0, piece: 0, pageSize: UInt32(pageSize),
                                                compression: compressionLevel == nil ? 0 : 1)
        let writer = BackupPieceWriter(directory: FileSystem.parent(of: path), template: template, maxPieceSize: UInt64.max, keys: keys) { n throws(EngineError) in
            guard n == 1 else { throw .io(operation: "write a second piece into a snapshot", path: path, errno: EIO) }
            let file = try StoredFileWriter(path: path, keys: keys, prefix: prefix)
            readBack.value = try TrailingReadBack(path: path, from: UInt64(prefix.count))
            return file
        }
        var map = PageMap(pageSize: pageSize)
        map.reserve(Int(snapshot.pageCount))
        let progress = ProgressMeter(label: "snapshot", totalBytes: UInt64(snapshot.pageCount) * UInt64(pageSize), monitor: monitor)
        let compressors = (0..<workers).map { _ in compressionLevel.map { Compressor(level: $0) } }
        let pipeline = OrderedPipeline(slots: BackupEngine.makeSlots(pageSize: pageSize, blockPages: blockPages), workers: workers, background: true)
        let output: BackupSetOutput
        do {
            output = try pipeline.run(
                produce: BackupEngine.producer(snapshot, blockPages: blockPages),
                transform: { slot, w in
                    slot.block.withLock { b in
                        b.readBytes = b.rawBytes
                        b.encode(compressor: compressors[w])
                    }
                },
                consumer: BackupSetOutput(writer: writer, map: map, replacing: false),
                consume: { output, slot in try output.add(slot, progress: progress) })
        } catch {
            throw BackupEngine.backupError(error)
        }
        try output.writer.finishPiece()
        progress.finish()
        guard let piece = output.writer.finished.first else {
            throw .invalidArgument("\(snapshot.databasePath) has no pages to put in a snapshot")
        }
        let manifest = BackupManifest(
            dbid: String(dbid), backupId: 0, kind: .backupSet, level: 0, incarnation: header.incarnation, scn: header.scn,
            pageSize: pageSize, pageCount: snapshot.pageCount, stateChecksum: Hash.hex(output.map.state),
            compression: compressionLevel == nil ? "none" : "zstd", compressionLevel: compressionLevel.map(Int.init),
            blockPages: blockPages, files: [piece], tag: header.name, databaseName: header.database,
            startedAt: started, completedAt: Date(), release: FormatVersion.release)
        return (manifest, piece.xxh3)
    }

    /// The piece read back as stored (behind the writer) against its XXH3 (what a backup's
    /// transfer check does).
    private func verifyPiece(_ path: String, region: SnapshotHeader.Region, xxh3: String, readBack: TrailingReadBack?) throws(EngineError) {
        guard let readBack else { throw .io(operation: "read back the snapshot's pages", path: path, errno: ENOENT) }
        let value = try readBack.finish(length: region.length)
        guard Hash.hex(value) == xxh3 else {
            throw .corrupt(file: path, offset: region.offset, detail: "re-read checksum \(Hash.hex(value)) of the snapshot's pages differs from the written \(xxh3)")
        }
    }


    /// Appends the manifest after the piece and writes the final header over the first bytes.
    private func appendManifest(_ manifest: BackupManifest, header: inout SnapshotHeader, path: String) throws(EngineError) {
        let json = try SnapshotFile.encode(manifest)
        header.manifest = .init(offset: header.piece.offset + header.piece.length, length: UInt64(json.count))
        header.manifestXXH3 = Hash.hex(Hash.xxh3(json))
        let file = try RawFile(path: path, mode: .readWrite)
        try file.write(json, at: header.manifest.offset)
        try file.write(try header.encoded(), at: 0)
        try file.sync()
    }
}

/// Where the piece opener leaves the read-back it starts with the piece's file.
private final class ReadBackSlot: @unchecked Sendable {
    var value: TrailingReadBack?
}
