import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Options for one backup.
package struct BackupOptions: Sendable {
    package var asCopy = false
    package var tag: String?
    package var maxPieceSize: UInt64 = 32 << 20
    /// zstd level (negative levels are zstd's fast levels); nil stores pages uncompressed.
    /// The default, -1, compresses at about 1.3 times the speed of level 1 for about 3 % more bytes.
    package var compressionLevel: Int32? = -1
    package var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    package var monitor = OperationMonitor()
    /// 0: every page. 1: the pages changed since the base (differential: the last backup of
    /// level 0 or 1; cumulative: the last level 0).
    package var level = 0
    package var cumulative = false
    /// Archival backup (`--keep-until DATE|forever`): exempt from retention until then.
    package var keepUntil: Date?
    package var keepForever = false
    /// The periodic integrity check the backup runs afterwards (see
    /// `Catalog.runDueIntegrityChecks`): the time it goes by (nil: now), and whether the sets
    /// it checks are also restored to a scratch file and checked by SQLite (`--pdic-restore`).
    package var integrityCheckAt: Date?
    package var integrityCheckRestores = false
    package init() {}
}

/// Takes backups: a consistent snapshot read in parallel blocks, written as a backup set of
/// checksummed pieces (or an image copy), re-read and checked, and only then made visible
/// and recorded. Level 0 holds every page; level 1 only the pages changed since its base.
/// Every backup also stores the hash of every page at its SCN (`pages.map`).
package struct BackupEngine {
    package static let blockBytes = 1 << 20
    static let slotCount = 6

    let layout: RepositoryLayout
    let dbid: UInt64
    let logger: Logger
    /// Encrypts every file the backup writes, when encryption is on.
    var keys: UnlockedKeyring? = nil

    package struct Result: Sendable {
        package let manifest: BackupManifest
        package let directory: String
        package let walCursor: ControlFile.WALCursor?
    }

    /// Blocks hold up to 1 MiB of pages and always fit in a piece.
    static func blockPages(pageSize: Int, maxPieceSize: UInt64) throws(EngineError) -> Int {
        let overhead = UInt64(BackupPieceFormat.headerSize + BackupPieceFormat.trailerSize + BackupPieceFormat.blockHeaderSize)
        let perPage = UInt64(pageSize + BackupPieceFormat.entrySize)
        guard maxPieceSize >= overhead + perPage else {
            throw .invalidSetting(.maxPieceSize, value: "\(maxPieceSize)", problem: "too small: a piece must hold at least one \(pageSize)-byte page and \(overhead) bytes of headers (use at least \(overhead + perPage) bytes, e.g. 1M).")
        }
        return max(1, min(blockBytes / pageSize, Int((maxPieceSize - overhead) / perPage)))
    }

    /// Writes the backup `owner` claimed, of the snapshot; returns the verified, visible backup.
    /// `scnAtSnapshot` gives the SCN of a snapshot (capturing up to it first when this process
    /// captures) and the WAL cursor to record, or nil when it cannot tell (the WAL was
    /// restarted since the snapshot began): the snapshot is then taken again.
    /// What dead processes left in the backups directory is removed first.
    func run(owner: PartialBackupOwner, database: String, incarnation: Int,
             scnAtSnapshot: @escaping SnapshotSCN,
             options: BackupOptions, incremental: IncrementalPlan? = nil) throws(EngineError) -> Result {
        let id = owner.id
        try FileSystem.makeDirectories(layout.backupsDirectory)
        BackupLeftovers.remove(layout: layout, logger: logger)
        let started = Date()
        let (snapshot, scn, newCursor) = try Self.snapshot(database, layout: layout, scnAtSnapshot: scnAtSnapshot)
        func lap(_ what: String) { logger.debug("backup \(id): \(what) at \(Int(Date().timeIntervalSince(started) * 1000)) ms") }
        lap("snapshot at SCN \(scn)")
        defer { snapshot.close() }

        let partial = owner.partialDirectory
        try owner.makeDirectory()
        do throws(EngineError) {
            let pageSize = snapshot.pageSize
            let bp = try Self.blockPages(pageSize: pageSize, maxPieceSize: options.maxPieceSize)
            let progress = ProgressMeter(label: options.asCopy ? "image copy" : "backup",
                                    totalBytes: UInt64(snapshot.pageCount) * UInt64(pageSize), monitor: options.monitor)
            var pages: PageSelection = .all
            if let plan = incremental {
                pages = .changed(plan.baseMap, candidates: try plan.candidates(snapshot).map {
                    Self.withNewPages($0, base: plan.baseMap.pageCount, pageCount: snapshot.pageCount)
                })
            }
            lap("change candidates")
            let (files, map, reread) = options.asCopy
                ? try writeImageCopy(snapshot: snapshot, directory: partial, blockPages: bp, options: options, progress: progress)
                : try writeBackupSet(snapshot: snapshot, id: id, directory: partial, blockPages: bp, pages: pages, options: options, progress: progress)
            snapshot.close()
            if let plan = incremental, let exact = plan.exactState(), exact != map.state {
                throw EngineError.verificationFailed(file: partial, detail: "the level-1 backup's pages give database state \(Hash.hex(map.state)) but the captured state at SCN \(scn) is \(Hash.hex(exact)); take a level-0 backup")
            }
            lap("pages written and re-read")
            let mapFile = try Self.writePageMap(map, scn: scn, incarnation: incarnation, directory: partial, keys: keys)
            var manifest = BackupManifest(
                dbid: String(dbid), backupId: id, kind: options.asCopy ? .imageCopy : .backupSet, level: incremental == nil ? 0 : 1,
                incarnation: incarnation, scn: scn, pageSize: pageSize, pageCount: snapshot.pageCount,
                stateChecksum: Hash.hex(map.state), compression: options.asCopy || options.compressionLevel == nil ? "none" : "zstd",
                compressionLevel: options.asCopy ? nil : options.compressionLevel.map(Int.init), blockPages: bp,
                files: files, tag: options.tag, databaseName: (database as NSString).lastPathComponent,
                startedAt: started, completedAt: Date(), release: FormatVersion.release)
            manifest.pageMap = mapFile
            manifest.databaseMode = FileMode.of(file: database)
            manifest.keepUntil = options.keepUntil
            manifest.keepForever = options.keepForever ? true : nil
            manifest.pagesStored = files.reduce(0) { $0 + $1.pages }
            if let plan = incremental {
                manifest.baseId = plan.base.id
                manifest.cumulative = plan.cumulative
                if case let .changed(_, candidates) = pages { manifest.changeSource = candidates == nil ? "scanned" : "tracked" }
            }
            _ = try manifest.write(directory: partial)
            try FileSystem.fsyncDirectory(partial)
            try BackupVerifier.checkTransfer(directory: partial, manifest: manifest, reread: reread)
            let final = layout.backupDirectory(id)
            try FileSystem.renameNoReplace(partial, final)
            try FileSystem.fsyncDirectory(layout.backupsDirectory)
            lap("verified and made visible")
            progress.finish()
            return Result(manifest: manifest, directory: final, walCursor: newCursor)
        } catch {
            FileSystem.removeTree(partial)
            throw error
        }
    }

    /// Takes a snapshot whose SCN is known. Writers are not blocked; only when the WAL keeps
    /// being restarted under the first tries (or changes as a snapshot begins) are they, for
    /// the moment the snapshot begins.
    static func snapshot(_ database: String, layout: RepositoryLayout,
                         scnAtSnapshot: SnapshotSCN)
        throws(EngineError) -> (DatabaseSnapshot, UInt64, ControlFile.WALCursor?) {
        for attempt in 0..<5 {
            let snapshot: DatabaseSnapshot
            do throws(EngineError) {
                snapshot = try DatabaseSnapshot(databasePath: database, blockWriters: attempt == 4)
            } catch {
                // The WAL moved under the snapshot as it began (an application's checkpoint
                // restarted it between two reads): begin again; the last try blocks writers.
                guard case .walChanged = error, attempt < 4 else { throw error }
                continue
            }
            if let held = snapshot.writeLockHeld {
                WriteLockHolds.record(layout: layout, operation: "backup snapshot", seconds: held)
            }
            if let (scn, cursor) = try scnAtSnapshot(snapshot) { return (snapshot, scn, cursor) }
            snapshot.close()
        }
        throw .walChanged(path: database + "-wal", detail: "the WAL was restarted under every attempt to take a snapshot")
    }

    /// Which pages a backup stores.
    enum PageSelection {
        /// Level 0: every page.
        case all
        /// Level 1: the pages whose hash differs from `base`, looked for among `candidates`,
        /// or among every page when nil.
        case changed(PageMap, candidates: PageSet?)
    }

    /// Candidate pages plus the pages past the end of the base, up to the snapshot's size.
    static func withNewPages(_ candidates: PageSet, base: UInt32, pageCount: UInt32) -> PageSet {
        candidates.removeAll(above: min(base, pageCount))
        if pageCount > base { candidates.insert(base + 1, through: pageCount) }
        return candidates
    }

    static let pageMapName = "pages.map"

    /// Writes the backup's page map (fsync'd) and describes it for the manifest; a chunk at
    /// a time (the map is never encoded whole in memory).
    static func writePageMap(_ map: PageMap, scn: UInt64, incarnation: Int, directory: String,
                             keys: UnlockedKeyring? = nil) throws(EngineError) -> BackupManifest.File {
        let f = try StoredFileWriter(path: directory + "/" + pageMapName, keys: keys)
        try map.encode(scn: scn, incarnation: incarnation, changes: false) { (p, n) throws(EngineError) in try f.append(p, n) }
        try f.finish()
        return .init(name: pageMapName, bytes: f.storedSize, xxh3: Hash.hex(f.storedHash), pages: UInt64(map.pageCount),
                     firstPage: 1, lastPage: map.pageCount)
    }

    /// Reads and verifies the page map of a backup against its manifest.
    static func readPageMap(directory: String, manifest m: BackupManifest) throws(EngineError) -> PageMap {
        guard let f = m.pageMap else {
            throw .missingFile(path: directory + "/" + pageMapName, detail: "backup \(m.backupId) was written without a page map; take a level-0 backup")
        }
        let path = directory + "/" + f.name
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "the page map of backup \(m.backupId)") }
        let differs = EngineError.corrupt(file: path, offset: nil, detail: "the page map differs from the manifest's record of it (size or checksum)")
        guard FileSystem.fileSize(path) == f.bytes else { throw differs }
        let fileHash = StreamingHash()
        let map: PageMap, scn: UInt64
        do throws(EngineError) {
            (map, scn, _) = try PageMap.read(path, fileHash: fileHash)
        } catch {
            // A damaged file is reported as differing from the manifest, as when it was checked whole first.
            switch error {
            case .corrupt, .truncated, .unsupportedFormat: throw differs
            default: throw error
            }
        }
        guard Hash.hex(fileHash.value) == f.xxh3 else { throw differs }
        guard scn == m.scn, map.pageCount == m.pageCount, map.pageSize == m.pageSize, Hash.hex(map.state) == m.stateChecksum else {
            throw .corrupt(file: path, offset: nil, detail: "the page map does not describe backup \(m.backupId) (SCN, size or state differ)")
        }
        return map
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

    static func makeSlots(pageSize: Int, blockPages: Int) -> [PageBlockSlot] {
        (0..<Self.slotCount).map { _ in PageBlockSlot(pageSize: pageSize, capacityPages: blockPages) }
    }

    /// Fills slots with consecutive blocks of the snapshot.
    static func producer(_ snapshot: DatabaseSnapshot, blockPages: Int) -> (PageBlockSlot) throws -> Bool {
        var next: UInt32 = 1
        let total = snapshot.pageCount
        return { slot in
            guard next <= total else { return false }
            try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
                b.setConsecutive(first: next, count: Int(min(UInt32(blockPages), total - next + 1)))
                try snapshot.readPages(first: next, count: b.count, into: b.pages)
                next += UInt32(b.count)
            }
            return true
        }
    }

    /// Fills slots with the pages of the set (ascending), reading each run of consecutive pages at once.
    private func producer(_ snapshot: DatabaseSnapshot, pages set: PageSet, blockPages: Int) -> (PageBlockSlot) throws -> Bool {
        var next = set.next(from: 1)
        return { slot in
            guard next != nil else { return false }
            try slot.block.withLock { (b: inout PageBlock) throws(EngineError) in
                b.count = 0
                while let first = next, b.count < blockPages {
                    var run = 1
                    next = set.next(from: first + 1)
                    while let n = next, b.count + run < blockPages, n == first + UInt32(run) {
                        run += 1
                        next = set.next(from: n + 1)
                    }
                    try snapshot.readPages(first: first, count: run, into: b.pages + b.count * snapshot.pageSize)
                    for k in 0..<run { b.pgnos[b.count + k] = first + UInt32(k) }
                    b.count += run
                }
                b.firstPage = b.pgnos[0]
            }
            return true
        }
    }

    /// `produce`, then the base's hash of each page it read noted in the slot (the workers
    /// compare with those; the base map stays on this thread).
    private func noting(_ base: PageMap, _ produce: @escaping (PageBlockSlot) throws -> Bool) -> (PageBlockSlot) throws -> Bool {
        { slot in
            guard try produce(slot) else { return false }
            slot.block.withLock { b in
                var hashes = b.baseHashList.mutableSpan
                base.copyHashes(of: b.pgnoList.span, into: &hashes)
                b.basePages = base.pageCount
            }
            base.trim()
            return true
        }
    }

    private func writeBackupSet(snapshot: DatabaseSnapshot, id: UInt64, directory: String, blockPages: Int, pages: PageSelection,
                                options: BackupOptions, progress: ProgressMeter) throws(EngineError) -> ([BackupManifest.File], PageMap, Set<String>) {
        let compressors = (0..<options.workers).map { _ in options.compressionLevel.map { Compressor(level: $0) } }
        let header = BackupPieceFormat.Header(version: FormatVersion.backupPiece, release: FormatVersion.releaseCode, dbid: dbid,
                                              backupSet: id, piece: 0, pageSize: UInt32(snapshot.pageSize),
                                              compression: options.compressionLevel == nil ? 0 : 1)
        var map: PageMap
        let produce: (PageBlockSlot) throws -> Bool
        let incremental: Bool
        switch pages {
        case .all:
            map = PageMap(pageSize: snapshot.pageSize)
            map.reserve(Int(snapshot.pageCount))
            produce = Self.producer(snapshot, blockPages: blockPages)
            incremental = false
        case let .changed(base, candidates):
            map = base.copy()
            map.resize(snapshot.pageCount)
            if let candidates { snapshot.prefetch(candidates) }
            produce = noting(base, candidates.map { producer(snapshot, pages: $0, blockPages: blockPages) } ?? Self.producer(snapshot, blockPages: blockPages))
            incremental = true
        }
        let pipeline = OrderedPipeline(slots: Self.makeSlots(pageSize: snapshot.pageSize, blockPages: blockPages), workers: options.workers, background: true)
        let output: BackupSetOutput
        do {
            output = try pipeline.run(
                produce: produce,
                transform: { slot, w in
                    slot.block.withLock { b in
                        b.readBytes = b.rawBytes
                        if incremental {
                            b.keepChanged()
                            if b.count > 0 { b.encode(compressor: compressors[w], hashed: true) }
                        } else {
                            b.encode(compressor: compressors[w])
                        }
                    }
                },
                consumer: BackupSetOutput(writer: BackupPieceWriter(directory: directory, template: header, maxPieceSize: options.maxPieceSize, keys: keys),
                                          map: map, replacing: incremental),
                consume: { output, slot in try output.add(slot, progress: progress) })
        } catch {
            throw Self.backupError(error)
        }
        try output.writer.finishPiece()
        let reread = try output.writer.verifier.finish()
        return (output.writer.finished, output.map, reread)
    }

    private func writeImageCopy(snapshot: DatabaseSnapshot, directory: String, blockPages: Int,
                                options: BackupOptions, progress: ProgressMeter) throws(EngineError) -> ([BackupManifest.File], PageMap, Set<String>) {
        let path = directory + "/" + ImageCopy.fileName
        var map = PageMap(pageSize: snapshot.pageSize)
        map.reserve(Int(snapshot.pageCount))
        let file = try StoredFileWriter(path: path, keys: keys)
        let pipeline = OrderedPipeline(slots: Self.makeSlots(pageSize: snapshot.pageSize, blockPages: blockPages), workers: options.workers, background: true)
        let output: ImageCopyOutput
        do {
            output = try pipeline.run(
                produce: Self.producer(snapshot, blockPages: blockPages),
                transform: { slot, _ in slot.block.withLock { $0.hashPages() } },
                consumer: ImageCopyOutput(file: file, map: map),
                consume: { output, slot in try output.add(slot, progress: progress) })
        } catch {
            throw Self.backupError(error)
        }
        try output.file.finish()
        FileSystem.makeReadOnly(path)
        return ([.init(name: ImageCopy.fileName, bytes: output.file.storedSize, xxh3: Hash.hex(output.file.storedHash), pages: UInt64(snapshot.pageCount),
                       firstPage: 1, lastPage: snapshot.pageCount)], output.map, [])
    }

    /// A pipeline's error as the engines report it.
    static func backupError(_ error: any Error) -> EngineError {
        error as? EngineError ?? .io(operation: "backup: \(error)", path: "", errno: EIO)
    }
}

package enum ImageCopy {
    package static let fileName = "image.db"
}
