import Foundation
import Synchronization
import Logging
import CairnFormats
import CairnCatalog

/// The pages of a database as of an SCN, read one at a time without restoring anything: a
/// page written after the best backup for that SCN is rebuilt from the log record holding its
/// newest version by then (through the changes before it); any other page comes from the
/// backup (its level 1s first, then the level 0), reading only the block that holds it.
/// Every version is checked against the hash recorded with it. Used by one thread at a time.
final class PointInTimePages {
    let scn: UInt64
    let pageSize: Int
    var pageCount: UInt32 { index.pageCount }
    /// The backup the pages not written since come from.
    let backup: BackupRecord
    private(set) var index: PageVersionIndex
    private let chain: [BackupReader]
    /// One per link of the chain, newest first: buffers and open pieces kept between reads.
    private lazy var fetchers = chain.map { BackupPageFetcher(reader: $0) }
    private let extracted: ExtractedLogs
    private var readers: [Int32: RedoLogReader] = [:]
    private let cache: PageCache
    private let operation: RepositoryOperation?

    /// Pages as of `scn` on the current incarnation's lineage by default (the way a restore to it goes:
    /// the same backup, the same logs, the same refusals before a gap or a missing log). With
    /// `through`, pages as of any SCN from `scn` to `through` can be read (`read(_:asOf:into:)`).
    /// The files read are protected from deletion while the object lives (`protect`), unless
    /// the caller's own operation already protects them.
    /// With `incarnation`, the SCNs are points of that incarnation's lineage.
    init(catalog: Catalog, scn: UInt64, through: UInt64? = nil, incarnation: Int? = nil, cacheBytes: Int = 8 << 20,
         protect: Bool = true) throws(EngineError) {
        operation = protect ? try catalog.beginReadingStoredFiles(purpose: "read the database as of SCN \(scn)") : nil
        var engine = RecoveryEngine(database: catalog, logger: catalog.logger)
        engine.extractedLogs.directory = catalog.layout.root
        engine.extractedLogs.namePrefix = ".asof-log-\(getpid())"
        extracted = engine.extractedLogs
        do throws(EngineError) {
            try engine.follow(incarnation: incarnation)
            let plan = try engine.plan(.scn(scn), backupId: nil)
            guard let links = engine.control.chain(of: plan.backup) else {
                throw .unrecoverable("backup \(plan.backup.id) is a level 1 whose chain back to its level 0 is broken")
            }
            chain = try links.reversed().map { (b: BackupRecord) throws(EngineError) -> BackupReader in try catalog.reader(for: b, monitor: OperationMonitor()) }
            pageSize = plan.backup.pageSize
            backup = plan.backup
            index = PageVersionIndex(backupScn: plan.backup.scn, backupPages: UInt32(chain.first?.manifest.pageCount ?? 0))
            let last = max(scn, through ?? scn)
            let span = last == scn ? plan : try engine.plan(.scn(last), backupId: plan.backup.id)
            try Self.indexLogs(span, engine: engine, through: last, into: &index)
        } catch {
            engine.extractedLogs.removeAll()
            operation?.end()
            throw error
        }
        self.scn = scn
        cache = PageCache(pageSize: pageSize, capacity: cacheBytes / pageSize)
    }

    deinit {
        extracted.removeAll()
        operation?.end()
    }

    private static func indexLogs(_ plan: RecoveryPlanner.Plan, engine: RecoveryEngine, through target: UInt64,
                                  into index: inout PageVersionIndex) throws(EngineError) {
        let segments = engine.segments, locator = engine.locator
        for i in plan.start.index...plan.target.index {
            let end = i == plan.target.index ? target : segments[i].end
            for (sequence, record) in engine.logs(segment: i) {
                if index.reached >= end { break }
                if let record, record.highScn <= index.reached { continue }
                let found = try locator.locate(incarnation: segments[i].incarnation, sequence: sequence, record: record)
                try index.add(found, through: end)
            }
        }
        guard index.reached >= target else {
            throw .unrecoverable("the logs after backup \(plan.backup.id) end at SCN \(index.reached), short of SCN \(target)")
        }
    }

    // MARK: - Reading

    /// The database's size in pages as of `at` (between the SCN and the last one indexed).
    func pageCount(asOf at: UInt64) -> UInt32 { index.pageCount(asOf: at) }

    /// Copies page `pgno` as of the SCN into `out` (zeros past the end of the database).
    func read(_ pgno: UInt32, into out: UnsafeMutableRawPointer) throws(EngineError) {
        try read(pgno, asOf: scn, into: out)
    }

    /// Copies page `pgno` as of SCN `at` (between the SCN and the last one indexed) into `out`.
    func read(_ pgno: UInt32, asOf at: UInt64, into out: UnsafeMutableRawPointer) throws(EngineError) {
        guard pgno >= 1, pgno <= index.pageCount(asOf: at) else {
            out.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
            return
        }
        let key = index.versionKey(pgno, atOrBefore: at)
        if cache.copy(key, into: out) { return }
        try image(pgno, asOf: at, into: out)
        cache.store(key, from: out)
    }

    /// The version of `pgno` as of `limit` (≤ the SCN): from the logs, else the backup.
    private func image(_ pgno: UInt32, asOf limit: UInt64, into out: UnsafeMutableRawPointer) throws(EngineError) {
        let (v, zero) = index.newest(pgno, atOrBefore: limit)
        if zero {
            out.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
            return
        }
        guard let v else { return try fromBackup(pgno, into: out) }
        let log = v.log
        // A change based on a version from before the backup: the page did not change between
        // that version and this one, so the backup holds that version.
        let known = { (p: UInt32, at: UInt64, base: UnsafeMutableRawPointer) throws(EngineError) -> Bool in
            guard self.index.predatesBackup(log: log, recordOffset: at) else { return false }
            try self.fromBackup(p, into: base)
            return true
        }
        try reader(log).version(of: pgno, recordAt: v.recordOffset, into: out, state: { (p: UInt32, at: UInt64, base: UnsafeMutableRawPointer) throws(EngineError) in
            guard let before = self.index.version(p, log: log, recordOffset: at) else {
                throw .corrupt(file: self.index.logs[Int(log)].path, offset: at, detail: "a change of page \(p) names a record the index does not hold")
            }
            try self.image(p, asOf: before.scn - 1, into: base)
        }, known: known)
    }

    private func reader(_ log: Int32) throws(EngineError) -> RedoLogReader {
        if let r = readers[log] { return r }
        let r = try RedoLogReader(path: index.logs[Int(log)].path, changeCacheBytes: 1 << 20)
        if readers.count >= 32, let any = readers.keys.first { readers.removeValue(forKey: any) }
        readers[log] = r
        return r
    }

    /// The page from the backup: the newest link of its chain holding it; zeros past the
    /// backup's size (the database grew after it and the page was not written since). The
    /// pages after it in the same block come along into the cache (as the backup's versions):
    /// a block is decompressed whole, and a scan reads its neighbours next.
    private func fromBackup(_ pgno: UInt32, into out: UnsafeMutableRawPointer) throws(EngineError) {
        let last = min(index.startPages, pgno &+ UInt32(prefetchPages - 1))
        var remaining = pgno <= last ? Set(pgno...last) : [pgno]
        let images = PageImages(pageSize: pageSize)
        for fetcher in fetchers {
            let wanted = remaining.filter { $0 <= fetcher.reader.manifest.pageCount }
            if wanted.isEmpty { continue }
            let got = try fetcher.fetch(wanted, into: images)
            remaining.subtract(got)
            if remaining.isEmpty { break }
        }
        for p in pgno...max(pgno, last) where p != pgno && images.has(p) {
            cache.store(UInt64(p) << 32, from: images.buffer(p))
        }
        if images.has(pgno) {
            out.copyMemory(from: images.buffer(pgno), byteCount: pageSize)
        } else {
            out.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
        }
    }

    /// Pages read from the backup at once: a block's worth, at most an eighth of the cache.
    private var prefetchPages: Int { max(1, min(64, cache.capacity / 8)) }

    /// Brings the backup's versions of those of `pgnos` that come from the backup as of `at`
    /// into the cache in one pass over the backup (each block read once, however many of its
    /// pages are wanted), up to half the cache; the reads that follow find them there.
    func warm(_ pgnos: [UInt32], asOf at: UInt64) throws(EngineError) {
        var remaining = Set(pgnos.lazy.filter { p in
            let (v, zero) = self.index.newest(p, atOrBefore: at)
            return v == nil && !zero && p <= self.index.startPages
        }.prefix(cache.capacity / 2))
        guard !remaining.isEmpty else { return }
        for (i, fetcher) in fetchers.enumerated() {
            let wanted = remaining.filter { $0 <= fetcher.reader.manifest.pageCount }
            if wanted.isEmpty { continue }
            let parts = try Self.fetchInHalves(wanted, fetcher: fetcher, reader: chain[i], pageSize: pageSize)
            for images in parts {
                for p in wanted where images.has(p) && remaining.contains(p) {
                    cache.store(UInt64(p) << 32, from: images.buffer(p))
                    remaining.remove(p)
                }
            }
            if remaining.isEmpty { break }
        }
    }

    /// The wanted pages of one backup, read by two threads when there are many (each block is
    /// decompressed once, and the two halves' blocks apart): the lower page numbers by
    /// `fetcher`, the upper by a fetcher of their own.
    private static func fetchInHalves(_ wanted: Set<UInt32>, fetcher: BackupPageFetcher, reader: BackupReader,
                                      pageSize: Int) throws(EngineError) -> [PageImages] {
        let sorted = wanted.sorted()
        guard sorted.count >= 64 else {
            let images = PageImages(pageSize: pageSize)
            _ = try fetcher.fetch(wanted, into: images)
            return [images]
        }
        let work = HalvedFetch(halves: [Set(sorted[..<(sorted.count / 2)]), Set(sorted[(sorted.count / 2)...])],
                               fetchers: [fetcher, BackupPageFetcher(reader: reader)], pageSize: pageSize)
        DispatchQueue.concurrentPerform(iterations: 2) { i in work.run(i) }
        if let error = work.failures.withLock({ $0.compactMap { $0 }.first }) { throw error }
        return work.images
    }
}

/// The two halves of `fetchInHalves`: thread `i` touches only slot `i` of each array.
private final class HalvedFetch: @unchecked Sendable {
    let halves: [Set<UInt32>]
    let fetchers: [BackupPageFetcher]
    let images: [PageImages]
    let failures = Mutex<[EngineError?]>([nil, nil])

    init(halves: [Set<UInt32>], fetchers: [BackupPageFetcher], pageSize: Int) {
        self.halves = halves
        self.fetchers = fetchers
        images = [PageImages(pageSize: pageSize), PageImages(pageSize: pageSize)]
    }

    func run(_ i: Int) {
        do throws(EngineError) {
            _ = try fetchers[i].fetch(halves[i], into: images[i])
        } catch {
            failures.withLock { $0[i] = error }
        }
    }
}
