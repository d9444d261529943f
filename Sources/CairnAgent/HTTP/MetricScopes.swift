import Foundation
import Prometheus

/// The series of `/metrics`, kept in one `PrometheusCollectorRegistry` per scope (the agent,
/// each database, each remote) and merged family by family into one exposition text.
///
/// One registry for everything made the first scrape of 500 databases cost 100-200 ms: the
/// registry copies a family's whole table of series each time it adds one, so registering N
/// series of a family costs N²/2 copies. With a registry per scope each family holds a handful
/// of series, and a database that goes away takes its registry with it.
struct MetricScopes {
    private struct Scope {
        let registry: PrometheusCollectorRegistry
        var table: MetricSeriesTable
        var generation: Int
    }

    private var scopes: [String: Scope] = [:]
    private var generation = 0

    /// How many series the last scrape set.
    var count: Int { scopes.values.reduce(0) { $0 + $1.table.count } }

    /// Starts a scrape: the scopes not recorded from now on are dropped by `finishScrape()`.
    mutating func beginScrape() { generation += 1 }

    /// Sets the series of `scope` (those `body` does not set are destroyed).
    mutating func record(_ scope: String, _ body: (inout MetricSeriesTable) -> Void) {
        var s = scopes.removeValue(forKey: scope) ?? Self.newScope()
        s.table.beginScrape()
        body(&s.table)
        s.table.finishScrape()
        s.generation = generation
        scopes[scope] = s
    }

    /// Drops the scopes this scrape did not record.
    mutating func finishScrape() {
        for (key, scope) in scopes where scope.generation != generation { scopes[key] = nil }
    }

    private static func newScope() -> Scope {
        let registry = PrometheusCollectorRegistry()
        return Scope(registry: registry, table: MetricSeriesTable(factory: PrometheusMetricsFactory(registry: registry)), generation: 0)
    }

    /// The exposition text: each family once, its `# HELP` (from `help`) and `# TYPE` lines,
    /// then the samples of every scope; families sorted by name, scopes by key.
    func emit(help: [String: String]) -> [UInt8] {
        var families: [String: (type: ArraySlice<UInt8>, samples: [UInt8])] = [:]
        var text: [UInt8] = []
        for key in scopes.keys.sorted() {
            guard let scope = scopes[key] else { continue }
            text.removeAll(keepingCapacity: true)
            scope.registry.emit(into: &text)
            for range in Self.familyRanges(text) {
                let block = text[range]
                let typeEnd = block.firstIndex(of: 0x0A).map { $0 + 1 } ?? block.endIndex
                let name = String(decoding: block.dropFirst(7).prefix { $0 != 0x20 && $0 != 0x0A }, as: UTF8.self)
                families[name, default: (ArraySlice(block[block.startIndex..<typeEnd]), [])].samples.append(contentsOf: block[typeEnd...])
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(families.values.reduce(0) { $0 + $1.samples.count } + families.count * 160)
        for name in families.keys.sorted() {
            guard let family = families[name] else { continue }
            if let h = help[name] { out.append(contentsOf: "# HELP \(name) \(h)\n".utf8) }
            out.append(contentsOf: family.type)
            if out.last != 0x0A { out.append(0x0A) }
            out.append(contentsOf: family.samples)
            if out.last != 0x0A { out.append(0x0A) }
        }
        return out
    }

    /// Where each family's block (from its `# TYPE` line to the next one) lies in `text`. Only a
    /// line starts with "# TYPE ": label values have their line feeds escaped.
    private static func familyRanges(_ text: [UInt8]) -> [Range<Int>] {
        let marker = Array("# TYPE ".utf8)
        var starts: [Int] = []
        text.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count, let found = memchr(base + offset, 0x23, bytes.count - offset) {
                let at = base.distance(to: UnsafeRawPointer(found))
                if (at == 0 || bytes[at - 1] == 0x0A) && bytes[at...].starts(with: marker) { starts.append(at) }
                offset = at + 1
            }
        }
        return starts.indices.map { i in starts[i]..<(i + 1 < starts.count ? starts[i + 1] : text.count) }
    }
}
