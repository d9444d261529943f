import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// The result of `cairn catalog add`: a copy of the database made outside Cairn, registered
/// as a verified level-0 image copy at the SCN whose state it holds.
package struct CatalogedCopy: Sendable, Codable {
    package var backupId: UInt64
    package var source: String
    package var scn: UInt64
    package var incarnation: Int
    /// True when the copy already held the state of one SCN; false when it was torn (copied
    /// while being written) and made consistent with the logs.
    package var consistent: Bool
    /// Inconsistent copies: the transactions after this SCN, through `scn`, were applied.
    package var appliedFromScn: UInt64?
    package var transactionsApplied: Int
    package var pagesApplied: Int
    package var pageSize: Int
    package var pageCount: UInt32
    package var stateChecksum: String
    package var tag: String
}

extension Catalog {
    /// `cairn catalog add DB FILE`: validates a SQLite copy of this database made outside
    /// Cairn, finds the SCN whose state it holds — directly, or, for a copy taken while the
    /// database was written (torn pages), by applying the logged transactions from a point
    /// before the copy started until the state matches a recorded one — and stores the
    /// consistent result in the repository as a verified image copy, recorded in the control
    /// file. `file` itself is only read.
    package func catalogCopy(_ file: String) throws(EngineError) -> CatalogedCopy {
        let operation = try beginReadingStoredFiles(.writing, purpose: "catalog a copy")
        defer { operation.end() }
        return try CopyCataloger(database: self).run(FileSystem.absolute(file))
    }
}

/// Finds where a copy of the database sits in its history and turns it into an image copy.
struct CopyCataloger {
    let database: Catalog
    let engine: RecoveryEngine
    let control: ControlFile

    init(database: Catalog) {
        self.database = database
        engine = RecoveryEngine(database: database, logger: database.logger)
        control = engine.control
    }

    /// One log of the current incarnation's lineage, in recovery order.
    struct LineageLog {
        let segment: Int
        let sequence: UInt64
        let record: LogRecord?
    }

    /// A state the copy was found to hold.
    struct Match {
        var scn: UInt64
        var incarnation: Int
        var time: Date
        /// Torn copies: the lineage log the transactions were applied from, and the SCN before.
        var startLog: Int?
        var appliedFrom: UInt64?
        var applied = 0
        var pagesApplied = 0
    }

    var lineage: [LineageLog] {
        engine.segments.indices.flatMap { i in engine.logs(segment: i).map { LineageLog(segment: i, sequence: $0.sequence, record: $0.record) } }
    }

    func run(_ path: String) throws(EngineError) -> CatalogedCopy {
        // Validate: a SQLite file, the database's page size, whole pages.
        guard FileSystem.exists(path) else { throw .missingFile(path: path, detail: "the copy to catalog does not exist") }
        guard !FileSystem.isDirectory(path) else { throw .copyNotCataloged(path: path, detail: "it is a directory, not a SQLite database file") }
        let f = try RawFile(path: path, mode: .read)
        var buf = [UInt8](repeating: 0, count: 100)
        let n = try buf.withMutableBytes { (b, count) throws(EngineError) -> Int in try f.read(into: b, count: count, at: 0) }
        let header = try buf.withBytes { (b, _) throws(EngineError) -> DatabaseHeader in try DatabaseHeader(bytes: b, count: n, file: path) }
        let pageSize = header.pageSize
        if let expected = databasePageSize(), expected != pageSize {
            throw .copyNotCataloged(path: path, detail: "its page size is \(pageSize) bytes but \(database.databasePath) uses \(expected)-byte pages, so it is not a copy of that database")
        }
        guard let size = FileSystem.fileSize(path), size > 0, size % UInt64(pageSize) == 0 else {
            throw .copyNotCataloged(path: path, detail: "its size (\(FileSystem.fileSize(path) ?? 0) bytes) is not a whole number of \(pageSize)-byte pages: the copy is incomplete")
        }
        let mtime = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
        let map = try Self.scan(path, pageSize: pageSize, pages: Int(size / UInt64(pageSize))).0
        // The header's page count, when current, is the database's size (a copy may be longer).
        var alternative: PageMap?
        if header.pageCountIsValid, header.pageCountField < map.pageCount {
            var m = map
            m.resize(header.pageCountField)
            alternative = m
        }

        let logs = lineage
        let startAt = Self.logIndex(containing: mtime, in: logs)
        var tried: [String] = []
        var result: (match: Match, map: PageMap)?
        if let m = try findConsistent(map, alternative: alternative, logs: logs, startAt: startAt) {
            result = m
        } else {
            result = try findTorn(map, logs: logs, startAt: startAt, tried: &tried)
        }
        guard let (match, finalMap) = result else {
            let what = logs.isEmpty
                ? "no log of \(database.databasePath) is recorded and its state matches no backup"
                : "its state matches no backup and no state after any transaction in the \(logs.count) log(s) of the current incarnation's lineage, and applying the logs did not make it consistent (\(tried.joined(separator: "; ")))"
            throw .copyNotCataloged(path: path, detail: "\(what). Either it is not a copy of \(database.databasePath), or it was copied before the oldest log still available or across a gap. Catalog a copy made while the logs cover it, or take a backup with `cairn backup \(database.databasePath)`")
        }
        return try store(path, match: match, original: map, final: finalMap, pageSize: pageSize)
    }

    /// The page size of the protected database: from the live file, its backups or its logs.
    func databasePageSize() -> Int? {
        if let h = try? DatabaseHeader.read(database.databasePath) { return h.pageSize }
        if let b = control.restorableBackups.last { return b.pageSize }
        for l in lineage.reversed() {
            if let f = try? LogLocator(control: control).locate(incarnation: engine.segments[l.segment].incarnation, sequence: l.sequence, record: l.record),
               let r = try? RedoLogReader(path: f.path) { return Int(r.header.pageSize) }
        }
        return nil
    }


    /// The last lineage log whose first transaction is at or before `time` (0 when none).
    static func logIndex(containing time: Date, in logs: [LineageLog]) -> Int {
        var best = 0
        for (i, l) in logs.enumerated() {
            guard let low = l.record?.lowTime else { best = i; continue } // the open log
            if low <= time { best = i }
        }
        return best
    }

    func locate(_ l: LineageLog) throws(EngineError) -> LogLocator.Found {
        try LogLocator(control: control).locate(incarnation: engine.segments[l.segment].incarnation, sequence: l.sequence, record: l.record)
    }

    // MARK: - Consistent copies

    /// A copy whose state is that after some logged transaction, of a backup, or of the
    /// capture point. Logs are searched from the one holding the copy's modification time
    /// backwards, then forwards.
    func findConsistent(_ map: PageMap, alternative: PageMap?, logs: [LineageLog], startAt: Int) throws(EngineError) -> (Match, PageMap)? {
        func matching(_ state: UInt64) -> PageMap? {
            if state == map.state { return map }
            if let alternative, state == alternative.state { return alternative }
            return nil
        }
        for b in control.restorableBackups.sorted(by: { $0.scn > $1.scn }) {
            guard let s = Hash.parseHex(b.stateChecksum), let m = matching(s), engine.place(b.scn, incarnation: b.incarnation) != nil else { continue }
            return (Match(scn: b.scn, incarnation: b.incarnation, time: b.startedAt), m)
        }
        if let cp = control.redo.capture, let s = Hash.parseHex(cp.stateChecksum), let m = matching(s), engine.place(cp.scn, incarnation: cp.incarnation) != nil {
            let time = control.redo.gaps.first { $0.scn == cp.scn }?.detectedAt ?? control.incarnation(cp.incarnation)?.createdAt ?? control.createdAt
            return (Match(scn: cp.scn, incarnation: cp.incarnation, time: time), m)
        }
        guard !logs.isEmpty else { return nil }
        let k0 = min(startAt, logs.count - 1)
        for i in Array((0...k0).reversed()) + Array((k0 + 1)..<logs.count) {
            let l = logs[i]
            guard let found = try? locate(l), let reader = try? RedoLogReader(path: found.path) else { continue }
            let seg = engine.segments[l.segment]
            var best: (RedoRecord, PageMap)?
            while let r = try? reader.next(strict: false) {
                guard r.scn <= seg.end, engine.place(r.scn, incarnation: seg.incarnation) == l.segment, let m = matching(r.stateChecksum) else { continue }
                best = (r, m)
            }
            if let (r, m) = best {
                return (Match(scn: r.scn, incarnation: seg.incarnation, time: Date(timeIntervalSince1970: Double(r.commitMicros) / 1e6)), m)
            }
        }
        return nil
    }

    // MARK: - Storing

    /// Writes the consistent copy into the repository as a verified image copy and records it.
    func store(_ path: String, match: Match, original: PageMap, final expected: PageMap, pageSize: Int) throws(EngineError) -> CatalogedCopy {
        let layout = database.layout
        let owner = try database.claimBackupId()
        defer { owner.release() }
        let id = owner.id
        let partial = owner.partialDirectory
        try owner.makeDirectory()
        let tag = "cataloged:" + path
        do throws(EngineError) {
            let image = partial + "/" + ImageCopy.fileName
            let out = try RawFile(path: image, mode: .createNew)
            // Copy, checking each page against the hashes the match was found with.
            let pages = Int(try RawFile(path: path, mode: .read).size() / UInt64(pageSize))
            var map = try Self.scan(path, pageSize: pageSize, pages: pages, copyTo: out).0
            guard map == original else {
                throw .copyNotCataloged(path: path, detail: "it changed while it was being cataloged (its pages no longer hash as they did a moment before); catalog a copy nobody writes to")
            }
            var applied = 0
            var pagesApplied = 0
            if let k = match.startLog {
                var outcome = ""
                guard let m = try apply(from: k, logs: lineage, map: &map, file: out, through: match.scn, outcome: &outcome) else {
                    throw .unrecoverable("Cataloging \(path) failed while applying the logs a second time (\(outcome)); the logs changed meanwhile. Run the command again.")
                }
                applied = m.applied
                pagesApplied = m.pagesApplied
            } else if map.pageCount > expected.pageCount {
                map.resize(expected.pageCount)
            }
            guard map.state == expected.state, map.pageCount == expected.pageCount else {
                throw .verificationFailed(file: image, detail: "the cataloged copy has state \(Hash.hex(map.state)) but SCN \(match.scn) has \(Hash.hex(expected.state))")
            }
            try out.truncate(to: UInt64(map.pageCount) * UInt64(pageSize))
            try out.sync()
            // Re-read what was written: every page, the state and the file checksum.
            let (reread, fileHash) = try Self.scan(image, pageSize: pageSize)
            guard reread.state == map.state, reread.pageCount == map.pageCount else {
                throw .verificationFailed(file: image, detail: "the image copy reads back with state \(Hash.hex(reread.state)), not \(Hash.hex(map.state))")
            }
            let problems = try IntegrityCheck.problems(in: image)
            guard problems.isEmpty else {
                throw .verificationFailed(file: path, detail: IntegrityCheck.failure(point: "\(path) made consistent at SCN \(match.scn)", problems: problems)
                    + ". Nothing was recorded; catalog another copy, or take a backup with `cairn backup \(database.databasePath)`")
            }
            FileSystem.makeReadOnly(image)
            let bp = try BackupEngine.blockPages(pageSize: pageSize, maxPieceSize: BackupOptions().maxPieceSize)
            let bytes = UInt64(map.pageCount) * UInt64(pageSize)
            let mapFile = try BackupEngine.writePageMap(reread, scn: match.scn, incarnation: match.incarnation, directory: partial)
            var manifest = BackupManifest(
                dbid: database.control.dbid, backupId: id, kind: .imageCopy, level: 0, incarnation: match.incarnation, scn: match.scn,
                pageSize: pageSize, pageCount: map.pageCount, stateChecksum: Hash.hex(map.state), compression: "none",
                compressionLevel: nil, blockPages: bp,
                files: [.init(name: ImageCopy.fileName, bytes: bytes, xxh3: Hash.hex(fileHash), pages: UInt64(map.pageCount), firstPage: 1, lastPage: map.pageCount)],
                tag: tag, databaseName: (database.databasePath as NSString).lastPathComponent,
                startedAt: match.time, completedAt: Date(), release: FormatVersion.release)
            manifest.pageMap = mapFile
            manifest.databaseMode = FileMode.of(file: database.databasePath)
            manifest.pagesStored = UInt64(map.pageCount)
            let manifestBytes = try manifest.write(directory: partial)
            try FileSystem.fsyncDirectory(partial)
            try BackupVerifier.checkTransfer(directory: partial, manifest: manifest, reread: [ImageCopy.fileName])
            let final = layout.backupDirectory(id)
            try FileSystem.renameNoReplace(partial, final)
            try FileSystem.fsyncDirectory(layout.backupsDirectory)
            let record = BackupRecord(manifest: manifest, bytes: bytes + mapFile.bytes + manifestBytes, directory: "backups/" + RepositoryLayout.backupDirectoryName(id))
            do throws(EngineError) {
                try database.transact { (c: inout ControlFile) throws(EngineError) in
                    guard !c.backups.contains(where: { $0.id == id }) else {
                        throw .unrecoverable("Backup id \(id) was taken by another process while \(path) was being cataloged. Run the command again.")
                    }
                    c.backups.append(record)
                    c.nextBackupId = max(c.nextBackupId, id + 1)
                }
            } catch {
                FileSystem.removeTree(final)
                throw error
            }
            return CatalogedCopy(backupId: id, source: path, scn: match.scn, incarnation: match.incarnation, consistent: match.startLog == nil,
                                 appliedFromScn: match.appliedFrom, transactionsApplied: applied, pagesApplied: pagesApplied,
                                 pageSize: pageSize, pageCount: map.pageCount, stateChecksum: Hash.hex(map.state), tag: tag)
        } catch {
            FileSystem.removeTree(partial)
            throw error
        }
    }


    /// Every page's hash and the XXH3 of the whole file (the first `pages` pages, or all),
    /// copying the pages into `out` on the way when given.
    static func scan(_ path: String, pageSize: Int, pages: Int? = nil, copyTo out: RawFile? = nil) throws(EngineError) -> (PageMap, UInt64) {
        let f = try RawFile(path: path, mode: .read)
        f.adviseSequential()
        let count: Int
        if let pages { count = pages } else { count = Int(try f.size() / UInt64(pageSize)) }
        var map = PageMap(pageSize: pageSize)
        map.reserve(count)
        let whole = StreamingHash()
        let per = max(1, (1 << 20) / pageSize)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: per * pageSize, alignment: 4096)
        defer { buf.deallocate() }
        var pgno = 1
        while pgno <= count {
            let n = min(per, count - pgno + 1)
            let at = UInt64(pgno - 1) * UInt64(pageSize)
            try f.readExactly(into: buf, count: n * pageSize, at: at)
            if let out { try out.write(buf, count: n * pageSize, at: at) }
            whole.update(buf, n * pageSize)
            for i in 0..<n { map.append(Hash.page(buf + i * pageSize, size: pageSize, pgno: UInt32(pgno + i))) }
            pgno += n
        }
        return (map, whole.value)
    }
}
