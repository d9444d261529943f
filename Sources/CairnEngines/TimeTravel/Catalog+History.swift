import Foundation
import CairnFormats
import CairnCatalog

/// A point of the history given by SCN or by time.
package enum HistoryBound: Sendable, Equatable {
    case scn(UInt64)
    case time(Date)
}

extension Catalog {
    /// `cairn log list`: every transaction of the current lineage after `since` through
    /// `until` (default: all that are still logged, to the newest captured), with the tables
    /// and indexes each wrote; with `table`, only those that wrote that table (or its indexes).
    /// With `rows`, each transaction's row changes too (`log list --rows`).
    package func history(since: HistoryBound? = nil, until: HistoryBound? = nil, table: String? = nil, rows: Bool = false) throws(EngineError) -> History {
        let operation = try beginReadingStoredFiles(purpose: "list the transaction history")
        defer { operation.end() }
        let engine = RecoveryEngine(database: self, logger: logger)
        let from = try since.map { (b: HistoryBound) throws(EngineError) -> UInt64 in try historySCN(b, engine: engine, before: true) } ?? 0
        let to = try until.map { (b: HistoryBound) throws(EngineError) -> UInt64 in try historySCN(b, engine: engine, before: false) } ?? UInt64.max
        guard from < to else {
            throw .invalidArgument("--since (SCN \(from)) is not before --until (SCN \(to)): no transaction lies between them.")
        }
        let reader = TransactionHistory(catalog: self)
        var skipped: UInt64?
        var entries = try reader.entries(after: from, through: to, skipped: &skipped)
        var notes: [String] = []
        if let skipped { notes.append("logs through SCN \(skipped) are no longer kept: the history starts after it") }
        do throws(EngineError) {
            if let first = entries.first, let last = entries.last {
                let pages = try PointInTimePages(catalog: self, scn: first.scn - 1, through: last.scn, protect: false)
                try reader.attribute(&entries, pages: pages, schema: SchemaRoots.read)
                if rows {
                    for i in entries.indices where entries[i].kind == .transaction && (table == nil || entries[i].touches(table!)) {
                        entries[i].rows = try rowChanges(of: entries[i], pages: pages)
                    }
                }
            }
        } catch {
            if table != nil {
                throw .unrecoverable("cannot tell which transactions wrote table \(table!): \(error.description)")
            }
            notes.append("tables not named: \(error.description)")
        }
        if let table {
            entries = entries.filter { $0.kind == .gap || $0.touches(table) }
        }
        return History(entries: entries, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// The SCN a bound names: a time is the last transaction committed at or before it (for
    /// `since`, nothing committed before it gives 0).
    private func historySCN(_ b: HistoryBound, engine: RecoveryEngine, before: Bool) throws(EngineError) -> UInt64 {
        switch b {
        case .scn(let n): return n
        case .time(let t):
            do throws(EngineError) { return try engine.scnAt(time: t) } catch { if before { return 0 }; throw error }
        }
    }
}
