import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Restore + recover: picks the best backup at or before the target on the current
/// incarnation's lineage, restores it, and applies logs up to exactly the target SCN,
/// checking the database state checksum after every transaction. The result is handed out
/// only when every check passed.
package struct RecoveryEngine {
    let database: Catalog
    let control: ControlFile
    let logger: Logger
    /// Logs taken out of archived-log backup sets for this recovery (removed when it ends).
    let extractedLogs: ExtractedLogs
    package var monitor = OperationMonitor()
    package var allowIncomplete = false
    /// The incarnation whose lineage recovery follows: the current one unless a point of an
    /// abandoned branch is the target (`--incarnation`).
    package var incarnation: Int

    package struct Result: Sendable, Codable {
        package var backupId: UInt64
        package var backupScn: UInt64
        package var scn: UInt64
        package var incarnation: Int
        package var logsApplied: Int
        package var transactionsApplied: Int
        package var bytesApplied: UInt64
        /// True when recovery reached what was asked: everything captured for complete
        /// recovery (the default), or the explicit target.
        package var complete: Bool
        /// `shortfall`'s summary (kept for readers of earlier results).
        package var missing: String?
        /// The backups restored, level 0 first.
        package var chain: [UInt64] = []
        /// "complete", "SCN n", "time …", "end of log sequence n" or "backup".
        package var target: String = ""
        /// The newest captured SCN when the recovery was planned.
        package var capturedScn: UInt64? = nil
        /// What was left out of the target, why, and what to do.
        package var shortfall: RecoveryShortfall? = nil
        /// SQLite's PRAGMA integrity_check passed on the built database.
        package var integrityChecked = false
    }

    init(database: Catalog, logger: Logger) {
        self.database = database
        self.control = database.control
        self.logger = logger
        self.extractedLogs = ExtractedLogs(logger: logger)
        incarnation = database.control.incarnation
    }

    /// Follows the lineage of `number` (nil: the current incarnation's); refused when the
    /// control file records no such incarnation.
    package mutating func follow(incarnation number: Int?) throws(EngineError) {
        guard let number else { return }
        guard control.incarnation(number) != nil else {
            let known = control.incarnations.map { String($0.number) }.joined(separator: ", ")
            throw .invalidArgument("\(database.databasePath) has no incarnation \(number) (it has \(known)). See `cairn list incarnations`.")
        }
        incarnation = number
    }

    var locator: LogLocator { LogLocator(control: control, extracted: extractedLogs, logger: logger) }

    // MARK: - Lineage

    /// The lineage recovery follows: `incarnation`'s (see `LineagePath`).
    var lineage: LineagePath { LineagePath(control, to: incarnation) }
    var segments: [LineagePath.Segment] { lineage.segments }
    func place(_ scn: UInt64, incarnation: Int? = nil) -> Int? { lineage.place(scn, incarnation: incarnation) }
    /// The incarnation `scn` belongs to on the lineage (a new incarnation that starts there
    /// branches off it); the lineage's own when the SCN is not on it.
    func owner(of scn: UInt64) -> Int { place(scn).map { segments[$0].incarnation } ?? incarnation }
    func next(after base: UInt64, segment i: Int) -> UInt64 { lineage.next(after: base, segment: i) }

    // MARK: - Target

    /// Logs of the lineage in order, closed ones from the control file and the open current log.
    func logs(segment i: Int) -> [(sequence: UInt64, record: LogRecord?)] {
        let inc = segments[i].incarnation
        var list: [(UInt64, LogRecord?)] = control.redo.logs.filter { $0.incarnation == inc }.sorted { $0.sequence < $1.sequence }.map { ($0.sequence, $0) }
        if inc == control.incarnation, let g = control.redo.currentGroup, control.redo.groups[g].status == .current,
           !list.contains(where: { $0.0 == control.redo.sequence }) {
            list.append((control.redo.sequence, nil))
        }
        return list
    }

    /// What a recovery to `target` does: which backup, to which point, and what it leaves out.
    func plan(_ target: RecoveryTarget, backupId: UInt64?) throws(EngineError) -> RecoveryPlanner.Plan {
        let planner = RecoveryPlanner(engine: self)
        switch target {
        case .complete, .backupOnly:
            return try planner.complete(backupId: backupId)
        case .scn(let n):
            return try planner.explicit(n, backupId: backupId, allowIncomplete: allowIncomplete)
        case .sequence(let s):
            guard let rec = control.redo.logs.first(where: { $0.incarnation == incarnation && $0.sequence == s }) else {
                throw .invalidArgument("Log sequence \(s) of incarnation \(incarnation) is not recorded (it may still be the open online log; run `cairn switch-log` first). See `cairn list logs`.")
            }
            return try planner.explicit(rec.highScn, backupId: backupId, allowIncomplete: allowIncomplete)
        case .time(let t):
            return try planner.explicit(try scnAt(time: t), backupId: backupId, allowIncomplete: allowIncomplete)
        }
    }

    /// The SCN of the last transaction committed at or before `t` on the lineage.
    func scnAt(time t: Date) throws(EngineError) -> UInt64 {
        let micros = UInt64(max(0, t.timeIntervalSince1970 * 1e6))
        var best: UInt64?
        let locator = self.locator
        for i in segments.indices {
            for (seq, rec) in logs(segment: i) {
                if let rec, let low = rec.lowTime, low > t { continue }
                // Every transaction of a log that ended before `t` counts: no need to read it.
                if let rec, let high = rec.highTime, high.addingTimeInterval(0.001) < t, rec.highScn <= segments[i].end {
                    best = max(best ?? 0, rec.highScn)
                    continue
                }
                guard let f = try? locator.locate(incarnation: segments[i].incarnation, sequence: seq, record: rec) else { continue }
                defer { locator.release(f) }
                guard let reader = try? RedoLogReader(path: f.path) else { continue }
                while let r = try? reader.next(strict: false) {
                    if r.commitMicros <= micros && r.scn <= segments[i].end { best = max(best ?? 0, r.scn) }
                }
            }
        }
        let backups = control.restorableBackups.filter { $0.startedAt <= t && place($0.scn, incarnation: $0.incarnation) != nil }.map(\.scn)
        if let b = backups.max() { best = max(best ?? 0, b) }
        guard let best else {
            throw .unrecoverable("No backup or logged transaction of \(database.databasePath) is as old as \(ISO8601DateFormatter().string(from: t)). See `cairn list backups` and `cairn list logs`.")
        }
        return best
    }

    /// What restoring `b` and recovering to `target` reads: its chain's bytes, plus the logs
    /// after it — read whole, and the share of their records applied counted twice (hashed and
    /// written besides read).
    func cost(of b: BackupRecord, through target: UInt64) -> Double {
        guard let chain = control.chain(of: b) else { return .infinity }
        let lineage = Set(segments.map(\.incarnation))
        var total = Double(chain.reduce(UInt64(0)) { $0 + $1.bytes })
        for l in control.redo.logs where lineage.contains(l.incarnation) && l.highScn > b.scn && l.lowScn <= target {
            let span = Double(l.highScn - l.lowScn + 1)
            let applied = Double(min(l.highScn, target)) - Double(max(l.lowScn, b.scn + 1)) + 1
            total += Double(l.bytes) * (1 + max(0, min(1, applied / span)))
        }
        return total
    }

    // MARK: - Run

    /// Restores and recovers into a temporary file beside `target` that passed every check —
    /// Cairn's checksums and states, then SQLite's integrity_check; returns its path.
    func build(beside target: String, to recoveryTarget: RecoveryTarget, backupId: UInt64?) throws(EngineError) -> (path: String, result: Result, map: PageMap) {
        // Logs that only a backup set holds are taken out beside the target, and removed at the end.
        extractedLogs.directory = FileSystem.parent(of: target)
        extractedLogs.namePrefix = "." + (target as NSString).lastPathComponent + ".cairn-log"
        defer { extractedLogs.removeAll() }
        if let backupId, let b = control.backups.first(where: { $0.id == backupId }) { try database.requireDatabaseBackup(b) }
        let plan = recoveryTarget == .backupOnly ? nil : try self.plan(recoveryTarget, backupId: backupId)
        let backup: BackupRecord
        if let plan { backup = plan.backup } else { backup = try database.record(backupId) }
        guard let chain = control.chain(of: backup) else {
            throw .unrecoverable("Backup \(backup.id) cannot be restored: it is a level 1 whose chain back to its level 0 is broken (a backup it builds on is gone or EXPIRED). Restore from another backup (see `cairn list backups`) or take a level-0 backup.")
        }
        var readers: [BackupReader] = []
        for b in chain { readers.append(try database.reader(for: b, monitor: monitor)) }
        let dir = FileSystem.parent(of: target)
        guard FileSystem.isDirectory(dir) else { throw .missingFile(path: dir, detail: "the directory to restore into does not exist") }
        let temp = dir + "/." + (target as NSString).lastPathComponent + ".cairn-restore-\(getpid())"
        FileSystem.removeFile(temp)
        do throws(EngineError) {
            let file = try RawFile(path: temp, mode: .createNew, permissions: database.restoredDatabaseMode(readers.last?.manifest))
            var map = try restore(chain, from: readers, into: file, path: temp, logsFollow: plan != nil)
            var result = Result(backupId: backup.id, backupScn: backup.scn, scn: backup.scn, incarnation: backup.incarnation,
                                logsApplied: 0, transactionsApplied: 0, bytesApplied: 0, complete: true, missing: nil,
                                chain: chain.map(\.id))
            result.target = recoveryTarget.label
            if let plan {
                result.capturedScn = plan.captured.scn
                result.shortfall = plan.shortfall
                try applyLogs(to: file, map: &map, plan: plan, result: &result)
            }
            result.complete = result.shortfall == nil
            result.missing = result.shortfall?.summary
            try file.truncate(to: UInt64(map.pageCount) * UInt64(map.pageSize))
            try file.sync()
            try IntegrityCheck.require(temp, built: "backup \(backup.id) recovered to SCN \(result.scn)", for: target)
            result.integrityChecked = true
            return (temp, result, map)
        } catch {
            FileSystem.removeFile(temp)
            throw error
        }
    }

    /// Writes a backup chain into `file`: the level 0, then each level 1 over it; returns the
    /// page map, its state checked against every backup's. When logs are applied next
    /// (`logsFollow`), the pages go through the page cache: a change in a log is applied to
    /// the page's version in the file, read back then, which would otherwise come from the disk.
    private func restore(_ chain: [BackupRecord], from readers: [BackupReader], into file: RawFile, path: String,
                         logsFollow: Bool) throws(EngineError) -> PageMap {
        let m = readers[0].manifest
        try file.preallocate(UInt64(m.pageCount) * UInt64(m.pageSize))
        let pageSize = m.pageSize
        // Whole blocks of pages go straight to the disk (O_DIRECT: no page-cache copy);
        // where the file system refuses direct I/O, through the page cache.
        let bulk = (!logsFollow && pageSize % 4096 == 0 ? try? RawFile(path: path, mode: .readWriteDirect) : nil) ?? file
        let restored = try readers[0].read(label: "restore", into: RestoredPages(bulk: bulk, file: file, pages: Int(m.pageCount), pageSize: pageSize))
        try bulk.sync()
        let map = restored.map
        guard Hash.hex(map.state) == chain[0].stateChecksum else {
            throw .verificationFailed(file: path, detail: "restored pages do not sum to the state checksum of backup \(chain[0].id)")
        }
        // The map moves to each reader's thread and back; between two it waits in a handoff
        // (the compiler follows a value moved on and back within one pass of a loop only).
        var current = Handoff(map)
        for (b, reader) in zip(chain.dropFirst(), readers.dropFirst()) {
            let applied = try applyIncremental(reader, of: b, to: file, map: current.take())
            current = Handoff(applied)
        }
        return current.take()
    }

    /// Writes the pages of a level-1 backup over the restored file (runs of consecutive
    /// pages at once), keeping file size and page map in step, then checks the state. The map
    /// moves to the reader's thread and back (`sending`: the only reference, so pages are set
    /// in place, with no copy of the map).
    private func applyIncremental(_ reader: BackupReader, of b: BackupRecord, to file: RawFile,
                                  map: consuming sending PageMap) throws(EngineError) -> sending PageMap {
        let m = reader.manifest
        let pageSize = map.pageSize
        guard m.pageSize == pageSize else {
            throw .corrupt(file: reader.directory, offset: nil, detail: "backup \(b.id) has \(m.pageSize)-byte pages but its base has \(pageSize)")
        }
        // Pages past a smaller size are gone; a later growth must read them as zeros.
        if m.pageCount < map.pageCount { try file.truncate(to: UInt64(m.pageCount) * UInt64(pageSize)) }
        map.resize(m.pageCount)
        let applied = try reader.read(label: "restore level 1 (\(b.id))", into: ChangedPages(file: file, map: map)).map
        guard Hash.hex(applied.state) == b.stateChecksum else {
            throw .verificationFailed(file: reader.directory, detail: "after applying level-1 backup \(b.id) the database state is \(Hash.hex(applied.state)), not the recorded \(b.stateChecksum)")
        }
        return applied
    }
}

/// Writes the blocks of a level 0 to the restored file, in order, and builds its page map.
struct RestoredPages: BackupBlockSink {
    /// Where whole blocks go (the file opened for direct I/O where it can be).
    let bulk: RawFile
    let file: RawFile
    var map: PageMap

    init(bulk: RawFile, file: RawFile, pages: Int, pageSize: Int) {
        self.bulk = bulk
        self.file = file
        map = PageMap(pageSize: pageSize, hashes: [])
        map.reserve(pages)
    }

    mutating func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) throws(EngineError) {
        let at = UInt64(pgnos[0] - 1) * UInt64(map.pageSize)
        try bulk.write(pages, at: at)
        if bulk === file { file.startWriteback(offset: at, count: pages.byteCount) }
        for i in hashes.indices { map.append(hashes[i]) }
    }
}

/// Writes the pages of a level 1 over the restored file (runs of consecutive pages at once),
/// keeping its page map in step.
struct ChangedPages: BackupBlockSink {
    let file: RawFile
    var map: PageMap

    mutating func accept(pages: RawSpan, hashes: Span<UInt64>, pgnos: Span<UInt32>) throws(EngineError) {
        let pageSize = map.pageSize
        var i = 0
        while i < pgnos.count {
            var run = 1
            while i + run < pgnos.count, pgnos[i + run] == pgnos[i] + UInt32(run) { run += 1 }
            try file.write(pages.extracting(i * pageSize..<(i + run) * pageSize), at: UInt64(pgnos[i] - 1) * UInt64(pageSize))
            i += run
        }
        for k in pgnos.indices { map.set(pgnos[k], hash: hashes[k]) }
    }
}
