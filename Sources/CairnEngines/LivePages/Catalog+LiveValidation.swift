import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// The checkers whose failures live validation records (see `FailureLog`).
    package static let livePagesChecker = "live-pages"
    package static let logicalChecker = "logical-integrity"

    /// Reads every page of the live database as one consistent snapshot (database file and
    /// the WAL's committed frames) without stopping the application, compares each with the
    /// page map at the snapshot's SCN and names the damaged ones and what they belong to.
    /// `logical` also runs SQLite's `integrity_check` on the database. The damage found (or its
    /// absence) is recorded as a failure (see `cairn advise`).
    package func validateLive(logical: Bool = false, monitor: OperationMonitor = OperationMonitor(), now: Date = Date()) throws(EngineError) -> LivePageReport {
        let started = Date()
        let live = try liveSnapshot()
        let (snapshot, scn, map) = (live.snapshot, live.scn, live.map)
        defer { snapshot.close() }
        var report = LivePageReport(database: databasePath, scn: scn, pageSize: snapshot.pageSize, pageCount: map.pageCount,
                                    pagesChecked: 0, bytesRead: 0, seconds: 0, damaged: [], damagedWALFrames: snapshot.scan.damagedFrames)
        report.diverged = live.diverged
        try compare(snapshot, with: map, into: &report, monitor: monitor)
        if !report.damaged.isEmpty { nameOwners(&report, snapshot: snapshot) }
        snapshot.close()
        if logical { report.logicalProblems = try logicalProblems() }
        report.seconds = Date().timeIntervalSince(started)
        report.failureId = recordLiveFailures(report, now: now)
        return report
    }

    /// Compares every page of the snapshot (and pages the map has past its end) with the map.
    private func compare(_ snapshot: DatabaseSnapshot, with map: PageMap, into report: inout LivePageReport,
                         monitor: OperationMonitor) throws(EngineError) {
        let (damage, checked) = try damagedPages(snapshot, map: map, monitor: monitor)
        report.damaged = damage.map(\.described)
        report.pagesChecked = checked
        report.bytesRead = checked * UInt64(snapshot.pageSize)
    }

    /// A page of the snapshot whose content is not the one the map expects.
    struct LiveDamage {
        let pgno: UInt32
        /// The map's hash (nil: past the end of the database at the map's SCN).
        let expected: UInt64?
        let found: UInt64
        let location: String
        let pastFileEnd: Bool

        var described: DamagedPage {
            DamagedPage(page: pgno, location: location, expectedHash: expected.map(Hash.hex) ?? "none (past the end of the database)",
                        foundHash: pastFileEnd ? "none (past the end of the file)" : Hash.hex(found))
        }
    }

    /// The damaged pages among `pages` (every page of the snapshot and the map when nil), and
    /// how many pages were read.
    func damagedPages(_ snapshot: DatabaseSnapshot, map: PageMap, pages: [UInt32]? = nil,
                      monitor: OperationMonitor = OperationMonitor()) throws(EngineError) -> (damage: [LiveDamage], checked: UInt64) {
        let pageSize = snapshot.pageSize
        guard pageSize == map.pageSize else {
            throw .corrupt(file: databasePath, offset: nil, detail: "the database has \(pageSize)-byte pages but \(map.pageSize)-byte pages were captured")
        }
        let total = max(snapshot.pageCount, map.pageCount)
        let blockPages = pages == nil ? max(1, (1 << 20) / pageSize) : 1
        let runs: [PageRunReader.Run] = pages.map { $0.sorted().map { ($0, 1) } }
            ?? stride(from: UInt32(1), through: total, by: blockPages).map { ($0, Int(min(UInt32(blockPages), total - $0 + 1))) }
        let progress = ProgressMeter(label: "validate live pages", totalBytes: UInt64(runs.reduce(0) { $0 + $1.count }) * UInt64(pageSize), monitor: monitor)
        defer { progress.finish() }
        let hashes = map.hashes, walPages = snapshot.walPages
        if pages == nil { snapshot.prefetchWAL() }
        var damage: [LiveDamage] = []
        var checked: UInt64 = 0
        try PageRunReader(snapshot: snapshot, runs: runs, maxPages: blockPages).forEach { (run: PageRunReader.Run, buffer: UnsafeRawPointer) throws(EngineError) in
            for i in 0..<run.count {
                let pgno = run.first + UInt32(i)
                let found = Hash.page(buffer + i * pageSize, size: pageSize, pgno: pgno)
                let expected = pgno <= map.pageCount ? hashes[Int(pgno) - 1] : nil
                guard found != expected else { continue }
                damage.append(LiveDamage(pgno: pgno, expected: expected, found: found, location: walPages[pgno].map { "WAL frame \($0)" } ?? "database file",
                                         pastFileEnd: pgno > snapshot.pageCount))
            }
            checked += UInt64(run.count)
            try progress.advance(UInt64(run.count * pageSize))
        }
        return (damage, checked)
    }

    /// Names the b-tree (or other structure) of each damaged page; best effort: a schema SQLite
    /// cannot read leaves them unnamed.
    private func nameOwners(_ report: inout LivePageReport, snapshot: DatabaseSnapshot) {
        let owners = owners(of: Set(report.damaged.map(\.page)), in: snapshot)
        for i in report.damaged.indices { report.damaged[i].owner = owners[report.damaged[i].page] }
    }

    /// What each of `pages` belongs to (best effort).
    func owners(of pages: Set<UInt32>, in snapshot: DatabaseSnapshot) -> [UInt32: String] {
        let roots = (try? schemaRoots()) ?? []
        return (try? PageOwners.find(pages, roots: roots, pageSize: snapshot.pageSize, pageCount: snapshot.pageCount, read: { (pgno: UInt32, into: UnsafeMutableRawPointer) throws(EngineError) in
            try snapshot.readPages(first: pgno, count: 1, into: into, missingAsZeros: true)
        })) ?? [:]
    }

    /// Every b-tree's root page, as the schema lists them.
    func schemaRoots() throws(EngineError) -> [PageOwners.Root] {
        let connection = try SQLiteConnection(path: databasePath, readOnly: true, busyTimeoutMs: 5_000)
        defer { connection.close() }
        return try connection.rows("SELECT type, name, rootpage FROM sqlite_schema WHERE rootpage > 0").compactMap { row in
            guard row.count == 3, let type = row[0], let name = row[1], let root = row[2].flatMap({ UInt32($0) }) else { return nil }
            return (name: "\(type) \(name)", page: root)
        }
    }

    /// SQLite's `integrity_check` of the live database, in one read transaction (a consistent
    /// snapshot, the application going on); empty when sound.
    func logicalProblems(limit: Int = 100) throws(EngineError) -> [String] {
        let connection = try SQLiteConnection(path: databasePath, readOnly: true, busyTimeoutMs: 10_000)
        defer { connection.close() }
        do throws(EngineError) {
            return try connection.rows("PRAGMA integrity_check(\(limit))").compactMap { $0.first ?? nil }.filter { $0 != "ok" }
        } catch {
            guard case .sqlite(_, _, let message) = error else { throw error }
            return [message]
        }
    }

    /// Records what validation found as the open (or closed) failures of its checkers; the id
    /// of the live-pages failure when there is damage. A repository that cannot be written is
    /// left as it is (the report still says what was found).
    private func recordLiveFailures(_ report: LivePageReport, now: Date) -> UInt64? {
        var pages: [FailureFinding] = []
        if !report.damaged.isEmpty || !report.damagedWALFrames.isEmpty {
            pages.append(FailureFinding(key: "damaged-pages", priority: .critical, summary: Self.damageSummary(report),
                                        affected: databasePath, pages: report.damaged.map(\.page)))
        }
        let logical = report.logicalProblems.map { problems -> [FailureFinding] in
            problems.isEmpty ? [] : [FailureFinding(key: "integrity-check", priority: .critical,
                summary: "SQLite's integrity_check of the live database reports \(problems.count) problem(s): " + problems.prefix(3).joined(separator: "; "),
                affected: databasePath)]
        }
        do throws(EngineError) {
            return try transact { (c: inout ControlFile) throws(EngineError) -> UInt64? in
                var log = FailureLog(c)
                let ids = log.merge(checker: Self.livePagesChecker, found: pages, at: now, closedBy: "validate --live found no damaged page")
                if let logical { log.merge(checker: Self.logicalChecker, found: logical, at: now, closedBy: "validate --live --logical found the database sound") }
                log.store(into: &c)
                return ids.first
            }
        } catch {
            logger.warning("could not record the outcome of live validation in the control file: \(error.description)")
            return nil
        }
    }

    static func damageSummary(_ report: LivePageReport) -> String {
        let named = report.damaged.prefix(10).map { d in "\(d.page)" + (d.owner.map { " (\($0))" } ?? "") }.joined(separator: ", ")
        let more = report.damaged.count > 10 ? ", …" : ""
        var s = "\(report.damaged.count) page(s) of the live database differ from the versions captured at SCN \(report.scn): \(named)\(more)"
        if !report.damagedWALFrames.isEmpty { s += "; \(report.damagedWALFrames.count) WAL frame(s) fail their checksum" }
        return s
    }
}
