import Foundation
import Prometheus

/// The series of `/metrics`, kept in `shardCount` `PrometheusCollectorRegistry`s of the
/// exporter's own (never the global `MetricsSystem`, so that several agents, or tests, can run
/// in one process), a scope (the agent, a database, a remote) always in the same one, and merged
/// family by family into one exposition text.
///
/// A registry copies a family's whole table of series each time it adds one, so registering N
/// series of a family in one registry costs N²/2 copies: the first scrape of 500 databases took
/// 100-200 ms. A registry per scope avoided that, but then a scrape emitted and merged 500
/// registries, twice the cost of the rest of it. Sixteen shards keep both small: a family holds
/// about N/16 series per registry.
struct MetricScopes {
    static let shardCount = 16

    private struct Shard {
        let registry: PrometheusCollectorRegistry
        let factory: PrometheusMetricsFactory
        /// The series of each scope in this shard.
        var tables: [String: MetricSeriesTable] = [:]
    }

    private var shards: [Shard] = (0..<MetricScopes.shardCount).map { _ in
        let registry = PrometheusCollectorRegistry()
        return Shard(registry: registry, factory: PrometheusMetricsFactory(registry: registry))
    }
    private var scrape = 0

    /// How many series the last scrape set.
    var count: Int { shards.reduce(0) { $0 + $1.tables.values.reduce(0) { $0 + $1.count } } }

    /// Starts a scrape: the scopes not recorded from now on are dropped by `finishScrape()`.
    mutating func beginScrape() { scrape += 1 }

    /// Sets the series of `scope`, each carrying the `common` labels first (those `body` does
    /// not set are destroyed).
    mutating func record(_ scope: String, common: [(String, String)] = [], _ body: (inout MetricSeriesTable) -> Void) {
        let k = Self.shard(of: scope), factory = shards[k].factory, now = scrape
        // In place: the table is not copied out of the dictionary and back.
        shards[k].tables[scope, default: MetricSeriesTable(factory: factory, common: common)].set(scrape: now, body)
    }

    /// Drops the scopes this scrape did not record (a database removed, a remote gone).
    mutating func finishScrape() {
        for k in shards.indices {
            for (scope, table) in shards[k].tables where table.scrape != scrape {
                var gone = table
                gone.destroyAll()
                shards[k].tables[scope] = nil
            }
        }
    }

    /// A stable shard for `scope` (FNV-1a of its bytes).
    private static func shard(of scope: String) -> Int {
        var h: UInt64 = 0xcbf29ce484222325
        for b in scope.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return Int(h % UInt64(shardCount))
    }

    /// The exposition text: each family once, its `# HELP` (from `help`) and `# TYPE` lines,
    /// then the samples of every shard; families sorted by name.
    func emit(help: [String: String]) -> [UInt8] {
        var families: [String: (type: ArraySlice<UInt8>, samples: [UInt8])] = [:]
        var text: [UInt8] = []
        for shard in shards {
            text.removeAll(keepingCapacity: true)
            shard.registry.emit(into: &text)
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
