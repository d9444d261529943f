import Foundation
import Logging
import CairnFormats
import CairnCatalog

/// Rebuilds chosen pages of a database as of an SCN without restoring the rest: their
/// versions in a backup (level 0, then each level 1 of its chain), brought forward record by
/// record through the logs; or, when they suffice, from the online logs alone (a page written
/// whole in them, and its changes after). Each version a record gives is checked against the
/// hash it records, and each page in the end against the page map at the SCN.
struct PageRebuilder {
    let catalog: Catalog
    let target: UInt64
    /// The hash each page must have at `target`.
    let expected: [UInt32: UInt64]
    let pageSize: Int
    let logger: Logger

    var pages: Set<UInt32> { Set(expected.keys) }

    /// The pages of `images` that hash as expected.
    func rebuilt(_ images: PageImages) -> Set<UInt32> {
        Set(expected.filter { images.hash($0.key) == $0.value }.map(\.key))
    }

    // MARK: - Online logs alone

    /// The pages the online logs alone rebuild (possibly none).
    func fromOnlineLogs() -> PageImages {
        let images = PageImages(pageSize: pageSize)
        let c = catalog.control
        var last: UInt64 = 0
        for path in LoggedPageMap.onlineLogs(c) {
            do throws(EngineError) {
                last = try apply(path: path, closed: false, after: last, through: target, to: images, pages: pages)
            } catch {
                logger.info("online log \(path) cannot rebuild pages on its own: \(error.description)")
                images.known.removeAll()
            }
            if last >= target { break }
        }
        for p in pages where !images.known.contains(p) { images.remove(p) }
        return images
    }

    // MARK: - A backup and the logs after it

    /// The pages rebuilt from backup `b` (and its chain) and the logs from it to the target.
    func fromBackup(_ b: BackupRecord, pages wanted: Set<UInt32>) throws(EngineError) -> PageImages {
        let engine = RecoveryEngine(database: catalog, logger: logger)
        engine.extractedLogs.directory = catalog.layout.root
        engine.extractedLogs.namePrefix = ".repair-log-\(getpid())"
        defer { engine.extractedLogs.removeAll() }
        let plan = try engine.plan(.scn(target), backupId: b.id)
        guard let chain = engine.control.chain(of: b) else {
            throw .unrecoverable("backup \(b.id) is a level 1 whose chain back to its level 0 is broken")
        }
        let images = PageImages(pageSize: pageSize)
        for link in chain {
            let reader = try catalog.reader(for: link, monitor: OperationMonitor())
            // Pages past a backup's size are zero pages (the database was smaller then).
            for p in wanted where p > reader.manifest.pageCount { images.zero(p) }
            _ = try BackupPageFetcher(reader: reader).fetch(wanted, into: images)
        }
        for p in wanted where !images.has(p) { images.zero(p) }
        images.known = wanted
        try applyLogs(plan, engine: engine, to: images, pages: wanted)
        return images
    }

    /// Applies the logs of the plan's lineage after its backup through the target.
    private func applyLogs(_ plan: RecoveryPlanner.Plan, engine: RecoveryEngine, to images: PageImages, pages: Set<UInt32>) throws(EngineError) {
        let segments = engine.segments, locator = engine.locator
        var current = plan.backup.scn
        for i in plan.start.index...plan.target.index {
            let end = i == plan.target.index ? target : segments[i].end
            for (sequence, record) in engine.logs(segment: i) {
                if current >= end { break }
                if let record, record.highScn <= current { continue }
                let found = try locator.locate(incarnation: segments[i].incarnation, sequence: sequence, record: record)
                defer { locator.release(found) }
                current = try apply(path: found.path, closed: found.closed, after: current, through: end, to: images, pages: pages)
            }
        }
        guard current >= target else {
            throw .unrecoverable("the logs after backup \(plan.backup.id) end at SCN \(current), short of SCN \(target)")
        }
    }

    // MARK: - One log

    /// Applies the records of one log after SCN `after` through `through` to the pages of
    /// `images` (only those: other pages are not even decompressed); returns the last SCN applied.
    /// A page whose change does not rebuild from the version held leaves `known`.
    private func apply(path: String, closed: Bool, after: UInt64, through: UInt64, to images: PageImages, pages: Set<UInt32>) throws(EngineError) -> UInt64 {
        let reader = try RedoLogReader(path: path)
        let size = images.pageSize
        let base = RedoLogReader.PageBase.lenientTarget(read: { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            into.copyMemory(from: images.buffer(pgno), byteCount: size)
        }, skipped: { (pgno: UInt32, _: UInt64) throws(EngineError) in
            images.known.remove(pgno)
        })
        var last = after
        while let r = try reader.next(strict: closed, base: base, wanted: { [last] r in r.scn > last && r.scn <= through },
                                      only: { pages.contains($0) }, pages: { (_: RedoRecord, p: RedoLogReader.Page) throws(EngineError) in
            images.set(p.pgno, from: p.data)
            images.known.insert(p.pgno)
        }) {
            if r.scn <= last { continue }
            if r.scn > through { break }
            if r.kind == .gap {
                throw .unrecoverable("\(path) records a gap at SCN \(r.scn): changes there were never captured")
            }
            // Pages past the database's new size are gone; if it grows again they start as zeros.
            for p in pages where p > r.databasePages { images.zero(p); images.known.insert(p) }
            last = r.scn
        }
        return last
    }
}
