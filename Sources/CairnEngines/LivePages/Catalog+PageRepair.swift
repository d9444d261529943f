import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Rebuilds damaged pages of the live database as of its current SCN (from the online logs
    /// alone when they hold them, otherwise from the newest backup holding them, falling back
    /// to older ones, plus the logs) and writes them in while the application goes on, each
    /// only over the damaged content seen (see `LivePageWriter`). Nothing is written unless
    /// every page rebuilds to its captured version. Closes the live-pages failure it fixes.
    /// `force`: repair even when no capture ran and the database left the captured history
    /// (the caller knows nothing wrote to it meanwhile, so what differs is damage).
    package func repairPages(_ selection: PageSelection, preview: Bool = false, force: Bool = false,
                             monitor: OperationMonitor = OperationMonitor(), now: Date = Date()) throws(EngineError) -> PageRepairReport {
        let started = Date()
        let lock = try repairLock()
        defer { lock.close() }
        let live = try liveSnapshot()
        let (snapshot, scn, map) = (live.snapshot, live.scn, live.map)
        if let why = live.diverged, !force {
            snapshot.close()
            throw .unrecoverable("no capture was running and \(databasePath) left the captured history (\(why)): Cairn cannot tell damaged pages from changes made while nothing captured them, so it rewrites none. Nothing was changed. If nothing wrote to the database since capture stopped, the pages `cairn validate \(databasePath) --live` lists are damage: repair them with --force. Otherwise restore what was captured (`cairn restore \(databasePath)`), or start capture, which records a gap and takes the database as it is, then take a level-0 backup.")
        }
        // (What each page belongs to is validation's to say: naming it walks every b-tree.)
        let damage: [LiveDamage]
        do throws(EngineError) {
            damage = try selectedDamage(selection, snapshot: snapshot, map: map, monitor: monitor)
        } catch {
            snapshot.close()
            throw error
        }
        snapshot.close()
        if damage.count > max(16, Int(map.pageCount) / 2) {
            throw .unrecoverable("\(damage.count) of \(map.pageCount) pages of \(databasePath) differ from the versions captured at SCN \(scn): this does not look like the database Cairn captured (was another file put in its place?), and a page repair would rewrite most of it. Nothing was changed. Restore it whole (`cairn restore \(databasePath)`), or, if this file is the one to keep, take a level-0 backup of it (`cairn backup \(databasePath)`).")
        }
        var report = PageRepairReport(database: databasePath, scn: scn, preview: preview, pages: [], seconds: 0)
        if !damage.isEmpty {
            let expected = Dictionary(uniqueKeysWithValues: damage.compactMap { d in d.expected.map { (d.pgno, $0) } })
            let rebuilder = PageRebuilder(catalog: self, target: scn, expected: expected, pageSize: map.pageSize, logger: logger)
            let (images, sources) = try rebuild(rebuilder)
            let written = preview ? [] : try LivePageWriter(databasePath: databasePath, pageSize: map.pageSize).write(damage.map { d in
                LivePageWriter.Item(pgno: d.pgno, image: images.buffer(d.pgno), expected: expected[d.pgno]!, damaged: d.found)
            })
            report.pages = damage.map { d in
                let w = written.first { $0.pgno == d.pgno }
                return RepairedPage(page: d.pgno, source: sources[d.pgno] ?? "", written: w?.places ?? [],
                                    skipped: w?.skipped, expectedHash: Hash.hex(expected[d.pgno]!), damagedHash: Hash.hex(d.found))
            }
        }
        if !preview && report.repaired > 0 { try captureRepairCommit() }
        report.seconds = Date().timeIntervalSince(started)
        if !preview { report.failureClosed = recordRepair(report, selection: selection, now: now) }
        return report
    }

    /// With no capture running, captures the repair's commit (the header's user version
    /// rewritten) at once: left for later, a WAL restarted meanwhile would make it a gap.
    private func captureRepairCommit() throws(EngineError) {
        guard !CaptureLock.isHeld(path: layout.captureLockFile), let lock = try CaptureLock(path: layout.captureLockFile) else { return }
        defer { _ = lock }
        try Capturer(database: self, logger: logger).step()
    }

    /// One repair at a time per database.
    private func repairLock() throws(EngineError) -> LockFile {
        let path = layout.controlDirectory + "/repair.lock"
        let lock = try LockFile.create(path)
        guard lock.tryLock(.exclusive) else {
            throw .lockNotAcquired(lockFile: path, holders: LockHolders.describe(path), purpose: "repair pages of \(databasePath) (another repair of it runs)", waited: 0)
        }
        return lock
    }

    /// The damage to repair: every damaged page, or the pages asked for, each of which must
    /// be a page of the database and damaged.
    private func selectedDamage(_ selection: PageSelection, snapshot: DatabaseSnapshot, map: PageMap,
                                monitor: OperationMonitor) throws(EngineError) -> [LiveDamage] {
        guard case .pages(let asked) = selection else {
            return try damagedPages(snapshot, map: map, monitor: monitor).damage.filter { $0.expected != nil }
        }
        let pages = Array(Set(asked)).sorted()
        guard !pages.isEmpty else { throw .invalidArgument("no page to repair: give --page N[,M...] or --damaged") }
        if let beyond = pages.first(where: { $0 < 1 || $0 > map.pageCount }) {
            throw .invalidArgument("page \(beyond) is not a page of \(databasePath): at the current SCN the database has \(map.pageCount) page(s) (1...\(map.pageCount)). Nothing was changed.")
        }
        let damage = try damagedPages(snapshot, map: map, pages: pages).damage
        let sound = Set(pages).subtracting(damage.map(\.pgno)).sorted()
        guard sound.isEmpty else {
            throw .invalidArgument("page(s) \(sound.map(String.init).joined(separator: ", ")) of \(databasePath) match their captured versions: nothing to repair there. Nothing was changed. `cairn validate \(databasePath) --live` lists the damaged pages.")
        }
        return damage
    }

    /// Each page's version as of the rebuilder's target, and where it came from: the online
    /// logs alone where they suffice, then backups newest first (a damaged or unusable one is
    /// passed over for the next).
    private func rebuild(_ rebuilder: PageRebuilder) throws(EngineError) -> (PageImages, [UInt32: String]) {
        var remaining = rebuilder.pages
        let images = rebuilder.fromOnlineLogs()
        var sources: [UInt32: String] = [:]
        for p in rebuilder.rebuilt(images) {
            sources[p] = "online logs"
            remaining.remove(p)
        }
        var reasons: [String] = []
        let candidates = control.restorableBackups.filter { $0.scn <= rebuilder.target }.sorted { ($0.scn, $0.id) > ($1.scn, $1.id) }
        for b in candidates where !remaining.isEmpty {
            do throws(EngineError) {
                let fromBackup = try rebuilder.fromBackup(b, pages: remaining)
                let good = rebuilder.rebuilt(fromBackup).intersection(remaining)
                for p in good {
                    images.set(p, from: fromBackup.buffer(p))
                    sources[p] = "backup \(b.id) and the logs after it"
                    remaining.remove(p)
                }
                if !remaining.isEmpty { reasons.append("backup \(b.id): page(s) \(Self.list(remaining)) do not rebuild to their captured versions") }
            } catch {
                reasons.append("backup \(b.id): \(error.description)")
            }
        }
        guard remaining.isEmpty else { throw unrebuildable(remaining, target: rebuilder.target, reasons: reasons) }
        return (images, sources)
    }

    private func unrebuildable(_ pages: Set<UInt32>, target: UInt64, reasons: [String]) -> EngineError {
        let why = reasons.isEmpty ? "no backup holds them and the online logs do not hold them whole" : reasons.joined(separator: "; ")
        return .unrecoverable("page(s) \(Self.list(pages)) of \(databasePath) cannot be rebuilt as of SCN \(target): \(why). Nothing was changed. Next best: restore the whole database (`cairn restore \(databasePath)`) if a backup and the logs reach this SCN, otherwise save what SQLite can still read (`sqlite3 \(databasePath) .recover`), then take a level-0 backup (`cairn backup \(databasePath)`).")
    }

    static func list(_ pages: Set<UInt32>) -> String {
        let sorted = pages.sorted()
        return sorted.prefix(20).map(String.init).joined(separator: ", ") + (sorted.count > 20 ? ", …" : "")
    }

    /// Brings the live-pages failure up to date after a repair: the pages written leave it,
    /// and it is closed once none is left. Returns its id when closed.
    private func recordRepair(_ report: PageRepairReport, selection: PageSelection, now: Date) -> UInt64? {
        let fixed = Set(report.pages.filter { !$0.written.isEmpty }.map(\.page))
        let what = "repair pages (\(fixed.count) page(s) rewritten as of SCN \(report.scn))"
        do throws(EngineError) {
            return try transact { (c: inout ControlFile) throws(EngineError) -> UInt64? in
                var log = FailureLog(c)
                guard let open = log.open.first(where: { $0.checker == Self.livePagesChecker && $0.key == "damaged-pages" }) else { return nil }
                let left = (open.pages ?? []).filter { !fixed.contains($0) }
                // A full pass that found nothing left to repair closes it too.
                if left.isEmpty || (selection == .damaged && report.pages.allSatisfy { !$0.written.isEmpty }) {
                    log.close(id: open.id, at: now, by: what)
                    log.store(into: &c)
                    return open.id
                }
                log.update(id: open.id, pages: left, summary: "\(left.count) page(s) of the live database still differ from their captured versions: \(Self.list(Set(left)))", at: now)
                log.store(into: &c)
                return nil
            }
        } catch {
            logger.warning("could not record the repair in the control file: \(error.description)")
            return nil
        }
    }
}
