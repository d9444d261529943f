import Foundation
import Logging

/// Options for one backup.
public struct BackupOptions: Sendable {
    public var asCopy = false
    public var tag: String?
    public var maxPieceSize: UInt64 = 32 << 20
    /// zstd level (negative levels are zstd's fast levels); nil stores pages uncompressed.
    /// The default, -1, compresses at about 1.3 times the speed of level 1 for about 3 % more bytes.
    public var compressionLevel: Int32? = -1
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var showProgress = isatty(STDERR_FILENO) == 1
    public init() {}
}

/// Takes level-0 backups: a consistent snapshot read in parallel blocks, written as a
/// backup set of checksummed pieces (or an image copy), re-read and checked, and only then
/// made visible and recorded.
public struct BackupEngine {
    public static let blockBytes = 1 << 20
    static let slotCount = 6

    let layout: RepositoryLayout
    let dbid: UInt64
    let logger: Logger

    public struct Result: Sendable {
        public let manifest: BackupManifest
        public let directory: String
        public let walCursor: ControlFile.WALCursor?
    }

    /// Blocks hold up to 1 MiB of pages and always fit in a piece.
    static func blockPages(pageSize: Int, maxPieceSize: UInt64) throws(CairnError) -> Int {
        let overhead = UInt64(BackupPieceFormat.headerSize + BackupPieceFormat.trailerSize + BackupPieceFormat.blockHeaderSize)
        let perPage = UInt64(pageSize + BackupPieceFormat.entrySize)
        guard maxPieceSize >= overhead + perPage else {
            throw .invalidArgument("--max-piece-size \(maxPieceSize) is too small: a piece must hold at least one \(pageSize)-byte page and \(overhead) bytes of headers (use at least \(overhead + perPage) bytes, e.g. 1M).")
        }
        return max(1, min(blockBytes / pageSize, Int((maxPieceSize - overhead) / perPage)))
    }

    /// Removes directories of backups that never completed (from a crash or a failed run).
    func removePartials() {
        for name in FileSystem.list(layout.backupsDirectory) where name.hasPrefix(".partial-") {
            logger.info("removing incomplete backup \(name)")
            FileSystem.removeTree(layout.backupsDirectory + "/" + name)
        }
    }

    /// Writes backup `id` of the snapshot; returns the verified, visible backup.
    /// `scnAtSnapshot` runs while writers are blocked and gives the SCN of the snapshot
    /// (capturing up to it first when this process captures) and the WAL cursor to record.
    public func run(id: UInt64, database: String, incarnation: Int,
                    scnAtSnapshot: @escaping (WALScan) throws(CairnError) -> (UInt64, ControlFile.WALCursor?),
                    options: BackupOptions) throws(CairnError) -> Result {
        try FileSystem.makeDirectories(layout.backupsDirectory)
        removePartials()
        let started = Date()
        var scn: UInt64 = 0
        var newCursor: ControlFile.WALCursor?
        let snapshot = try DatabaseSnapshot(databasePath: database) { (scan: WALScan) throws(CairnError) in
            (scn, newCursor) = try scnAtSnapshot(scan)
        }
        defer { snapshot.close() }

        let partial = layout.partialDirectory(id)
        if mkdir(partial, 0o755) != 0 {
            throw CairnError.fromErrno("create backup directory", partial, errno)
        }
        do throws(CairnError) {
            let pageSize = snapshot.pageSize
            let bp = try Self.blockPages(pageSize: pageSize, maxPieceSize: options.maxPieceSize)
            let progress = Progress(label: options.asCopy ? "image copy" : "backup",
                                    totalBytes: UInt64(snapshot.pageCount) * UInt64(pageSize), enabled: options.showProgress)
            let (files, stateSum, reread) = options.asCopy
                ? try writeImageCopy(snapshot: snapshot, directory: partial, blockPages: bp, options: options, progress: progress)
                : try writeBackupSet(snapshot: snapshot, id: id, directory: partial, blockPages: bp, options: options, progress: progress)
            snapshot.close()
            let manifest = BackupManifest(
                dbid: String(dbid), backupId: id, kind: options.asCopy ? .imageCopy : .backupSet, level: 0,
                incarnation: incarnation, scn: scn, pageSize: pageSize, pageCount: snapshot.pageCount,
                stateChecksum: Hash.hex(stateSum), compression: options.asCopy || options.compressionLevel == nil ? "none" : "zstd",
                compressionLevel: options.asCopy ? nil : options.compressionLevel.map(Int.init), blockPages: bp,
                files: files, tag: options.tag, databaseName: (database as NSString).lastPathComponent,
                startedAt: started, completedAt: Date(), release: FormatVersion.release)
            _ = try manifest.write(directory: partial)
            try FileSystem.fsyncDirectory(partial)
            try BackupVerifier.checkTransfer(directory: partial, manifest: manifest, reread: reread)
            let final = layout.backupDirectory(id)
            try FileSystem.renameNoReplace(partial, final)
            try FileSystem.fsyncDirectory(layout.backupsDirectory)
            progress.finish()
            return Result(manifest: manifest, directory: final, walCursor: newCursor)
        } catch {
            FileSystem.removeTree(partial)
            throw error
        }
    }

    /// Commits in the WAL that the cursor has not counted yet, and the cursor after them.
    static func countCommits(_ scan: WALScan, since cursor: ControlFile.WALCursor?) -> (UInt64, ControlFile.WALCursor?) {
        guard let h = scan.header else { return (0, cursor) }
        let newCursor = ControlFile.WALCursor(salt1: h.salt1, salt2: h.salt2, frame: scan.lastCommitFrame)
        if let c = cursor, c.salt1 == h.salt1, c.salt2 == h.salt2 {
            return (UInt64(scan.commits.filter { $0.frame > c.frame }.count), newCursor)
        }
        return (UInt64(scan.commits.count), newCursor)
    }

    private func makeSlots(pageSize: Int, blockPages: Int) -> [PageBlockSlot] {
        (0..<Self.slotCount).map { _ in PageBlockSlot(pageSize: pageSize, capacityPages: blockPages) }
    }

    /// Fills slots with consecutive blocks of the snapshot.
    private func producer(_ snapshot: DatabaseSnapshot, blockPages: Int) -> (PageBlockSlot) throws -> Bool {
        var next: UInt32 = 1
        let total = snapshot.pageCount
        return { slot in
            guard next <= total else { return false }
            slot.firstPage = next
            slot.count = Int(min(UInt32(blockPages), total - next + 1))
            try snapshot.readPages(first: next, count: slot.count, into: slot.pages)
            next += UInt32(slot.count)
            return true
        }
    }

    private func writeBackupSet(snapshot: DatabaseSnapshot, id: UInt64, directory: String, blockPages: Int,
                                options: BackupOptions, progress: Progress) throws(CairnError) -> ([BackupManifest.File], UInt64, Set<String>) {
        let compressors = (0..<options.workers).map { _ in options.compressionLevel.map { Compressor(level: $0) } }
        let header = BackupPieceFormat.Header(version: FormatVersion.backupPiece, release: FormatVersion.releaseCode, dbid: dbid,
                                              backupSet: id, piece: 0, pageSize: UInt32(snapshot.pageSize),
                                              compression: options.compressionLevel == nil ? 0 : 1)
        let writer = BackupPieceWriter(directory: directory, template: header, maxPieceSize: options.maxPieceSize)
        let state = StateAccumulator()
        let pipeline = OrderedPipeline(slots: makeSlots(pageSize: snapshot.pageSize, blockPages: blockPages), workers: options.workers)
        try Self.rethrowing {
            try pipeline.run(
                produce: producer(snapshot, blockPages: blockPages),
                transform: { slot, w in slot.encode(compressor: compressors[w]) },
                consume: { slot in
                    try writer.append(head: slot.encoded, headCount: slot.headCount, payload: slot.payload, payloadCount: slot.payloadCount,
                                      pages: slot.count, hashSum: slot.hashSum, firstPage: slot.firstPage,
                                      lastPage: slot.firstPage + UInt32(slot.count) - 1)
                    state.add(slot.hashSum)
                    progress.advance(UInt64(slot.rawBytes))
                })
        }
        try writer.finishPiece()
        let reread = try writer.verifier.finish()
        return (writer.finished, state.value, reread)
    }

    private func writeImageCopy(snapshot: DatabaseSnapshot, directory: String, blockPages: Int,
                                options: BackupOptions, progress: Progress) throws(CairnError) -> ([BackupManifest.File], UInt64, Set<String>) {
        let path = directory + "/" + ImageCopy.fileName
        let file = try SequentialWriter(path: path)
        let total = UInt64(snapshot.pageCount) * UInt64(snapshot.pageSize)
        let state = StateAccumulator()
        let fileHash = StreamingHash()
        let pipeline = OrderedPipeline(slots: makeSlots(pageSize: snapshot.pageSize, blockPages: blockPages), workers: options.workers)
        try Self.rethrowing {
            try pipeline.run(
                produce: producer(snapshot, blockPages: blockPages),
                transform: { slot, _ in slot.hashPages() },
                consume: { slot in
                    try file.append(slot.pages, slot.rawBytes)
                    fileHash.update(slot.pages, slot.rawBytes)
                    state.add(slot.hashSum)
                    progress.advance(UInt64(slot.rawBytes))
                })
        }
        try file.finish()
        chmod(path, 0o444)
        return ([.init(name: ImageCopy.fileName, bytes: total, xxh3: Hash.hex(fileHash.value), pages: UInt64(snapshot.pageCount),
                       firstPage: 1, lastPage: snapshot.pageCount)], state.value, [])
    }

    static func rethrowing(_ body: () throws -> Void) throws(CairnError) {
        do { try body() } catch let e as CairnError { throw e } catch {
            throw .io(operation: "backup: \(error)", path: "", errno: EIO)
        }
    }
}

/// Sum of page hashes collected by the in-order consumer thread.
final class StateAccumulator: @unchecked Sendable {
    private(set) var value: UInt64 = 0
    func add(_ h: UInt64) { value &+= h }
}

public enum ImageCopy {
    public static let fileName = "image.db"
}
