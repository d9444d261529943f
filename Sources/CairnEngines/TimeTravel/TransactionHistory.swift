import Foundation
import CairnFormats
import CairnCatalog

/// One transaction (or gap) of the captured history, as `cairn log list` shows it.
package struct HistoryEntry: Codable, Sendable {
    package enum Kind: String, Codable, Sendable { case transaction, gap }
    package var scn: UInt64
    package var incarnation: Int
    package var kind: Kind
    /// When it committed: exact when captured in-process (the WAL hook), else when capture saw it.
    package var time: Date
    package var timeExact: Bool
    /// Pages it wrote, and the database's size in pages after it.
    package var pages: Int
    package var databasePages: UInt32
    /// The tables and indexes whose b-trees it wrote (nil when they could not be told).
    package var tables: [String]?
    package var indexes: [String]?
    /// Pages it wrote outside every b-tree: overflow chains, the freelist.
    package var otherPages: Int?
    /// The page numbers it wrote (kept for attribution; not shown).
    package var pageNumbers: [UInt32] = []
    /// The tables of the indexes it wrote (not shown).
    package var tablesOfIndexes: [String] = []
    /// The rows it changed, when asked for.
    package var rows: RowChanges?

    enum CodingKeys: String, CodingKey { case scn, incarnation, kind, time, timeExact, pages, databasePages, tables, indexes, otherPages, rows }

    /// Whether it wrote table `name` or one of its indexes.
    package func touches(_ name: String) -> Bool {
        (tables ?? []).contains(name) || tablesOfIndexes.contains(name)
    }
}

/// The history between two points of the current lineage.
package struct History: Codable, Sendable {
    package var entries: [HistoryEntry]
    /// Why tables are not named, when they are not.
    package var note: String?
}

/// Reads the captured transactions of the current lineage between two SCNs from the logs
/// (page entries only: nothing decompressed), then names what each wrote by following the
/// b-trees from the state just before the first one.
struct TransactionHistory {
    let catalog: Catalog

    /// Transactions after `since` through `until` (SCNs on the current lineage). Logs no longer
    /// kept before the first one read are passed over (`skipped` says through which SCN); a
    /// missing log after that is an error, since the history would have a hole.
    func entries(after since: UInt64, through until: UInt64, skipped: inout UInt64?) throws(EngineError) -> [HistoryEntry] {
        let engine = RecoveryEngine(database: catalog, logger: catalog.logger)
        engine.extractedLogs.directory = catalog.layout.root
        engine.extractedLogs.namePrefix = ".history-log-\(getpid())"
        defer { engine.extractedLogs.removeAll() }
        let locator = engine.locator
        var out: [HistoryEntry] = []
        for (i, segment) in engine.segments.enumerated() where segment.end > since {
            for (sequence, record) in engine.logs(segment: i) {
                if let record, record.highScn <= since { continue }
                if let record, record.lowScn > until { break }
                let found: LogLocator.Found
                do throws(EngineError) {
                    found = try locator.locate(incarnation: segment.incarnation, sequence: sequence, record: record)
                } catch {
                    if out.isEmpty, let record {
                        skipped = record.highScn
                        continue
                    }
                    throw .unrecoverable("the history between SCN \(since) and \(until) needs log sequence \(sequence) of incarnation \(segment.incarnation), which is nowhere to be read: \(error.description)")
                }
                defer { locator.release(found) }
                try read(found, incarnation: segment.incarnation, after: since, through: min(until, segment.end), into: &out)
            }
        }
        return out
    }

    private func read(_ found: LogLocator.Found, incarnation: Int, after since: UInt64, through until: UInt64,
                      into out: inout [HistoryEntry]) throws(EngineError) {
        let reader = try RedoLogReader(path: found.path)
        var pages: [UInt32] = []
        while let r = try reader.next(strict: found.closed, entries: { (r: RedoRecord, _: UInt64, e: PageChangeFormat.Entry) throws(EngineError) in
            if r.scn > since && r.scn <= until { pages.append(e.pgno) }
        }) {
            defer { pages.removeAll(keepingCapacity: true) }
            if r.scn <= since { continue }
            if r.scn > until { break }
            if let last = out.last, last.scn >= r.scn { continue }
            out.append(HistoryEntry(scn: r.scn, incarnation: incarnation, kind: r.kind == .gap ? .gap : .transaction,
                                    time: Date(timeIntervalSince1970: Double(r.commitMicros) / 1e6), timeExact: r.flags & 1 != 0,
                                    pages: pages.count, databasePages: r.databasePages, pageNumbers: pages.sorted()))
        }
    }

    /// Names the tables and indexes each transaction wrote, following the b-trees from the
    /// state before the first one (read from a backup and the logs).
    func attribute(_ entries: inout [HistoryEntry], schema: @escaping (PointInTimePages, UInt64) throws(EngineError) -> [BTreeOwnership.Tree]) throws(EngineError) {
        guard let first = entries.first, let last = entries.last else { return }
        let pages = try PointInTimePages(catalog: catalog, scn: first.scn - 1, through: last.scn, protect: false)
        try attribute(&entries, pages: pages, schema: schema)
    }

    /// The same, reading the pages from `pages` (indexed from before the first transaction
    /// through the last).
    func attribute(_ entries: inout [HistoryEntry], pages: PointInTimePages,
                   schema: @escaping (PointInTimePages, UInt64) throws(EngineError) -> [BTreeOwnership.Tree]) throws(EngineError) {
        guard let first = entries.first else { return }
        let start = first.scn - 1
        var owners = try BTreeOwnership(pageSize: pages.pageSize, at: start, read: { (p: UInt32, at: UInt64, into: UnsafeMutableRawPointer) throws(EngineError) in
            try pages.read(p, asOf: at, into: into)
        }, schema: { (at: UInt64) throws(EngineError) in try schema(pages, at) })
        defer { owners.release() }
        for i in entries.indices where entries[i].kind == .transaction {
            try owners.apply(scn: entries[i].scn, pages: entries[i].pageNumbers)
            var tables = Set<String>(), indexes = Set<String>(), ofIndexes = Set<String>(), other = 0
            for p in entries[i].pageNumbers {
                guard let tree = owners.tree(of: p) else { other += 1; continue }
                if tree.isIndex {
                    indexes.insert(tree.name)
                    ofIndexes.insert(tree.table)
                } else {
                    tables.insert(tree.name)
                }
            }
            entries[i].tables = tables.sorted()
            entries[i].indexes = indexes.sorted()
            entries[i].tablesOfIndexes = ofIndexes.sorted()
            entries[i].otherPages = other
        }
    }
}
