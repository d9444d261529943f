import Foundation
import NIOCore
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
/// about N/16 series per registry. The shards are set and emitted on `workers` threads at once.
struct MetricScopes {
    static let shardCount = 16

    /// One scope to set: its name, the labels all its series carry, and how to set them.
    struct Scope {
        let name: String
        let common: [(String, String)]
        let body: (inout MetricSeriesTable) -> Void
    }

    private let shards: [MetricShard] = (0..<MetricScopes.shardCount).map { _ in MetricShard() }
    private var scrape = 0

    /// Sets the series of every scope of `scopes` (those of scopes not among them are
    /// destroyed) and returns the exposition text: each family once, its `# HELP` (from `help`)
    /// and `# TYPE` lines, then the samples of every shard; families sorted by name.
    mutating func scrape(_ scopes: [Scope], help: [String: String], workers: Int) -> ByteBuffer {
        scrape += 1
        var byShard = [[Int]](repeating: [], count: Self.shardCount)
        for (i, s) in scopes.enumerated() { byShard[Self.shard(of: s.name)].append(i) }
        let (shards, number, groups) = (self.shards, scrape, byShard)
        let work = UncheckedScopes(scopes)
        Parallel.forEach(0..<Self.shardCount, workers: workers) { k in
            shards[k].set(groups[k].map { work.scopes[$0] }, scrape: number)
        }
        return Self.merge(shards, help: help)
    }

    private static func merge(_ shards: [MetricShard], help: [String: String]) -> ByteBuffer {
        var families: [String: [(shard: Int, family: MetricShard.Family)]] = [:]
        var size = 0
        for (k, shard) in shards.enumerated() {
            size += shard.text.count
            for f in shard.families { families[f.name, default: []].append((k, f)) }
        }
        var out = ByteBufferAllocator().buffer(capacity: size + families.count * 160)
        for name in families.keys.sorted() {
            guard let parts = families[name], let first = parts.first else { continue }
            if let h = help[name] { out.writeString("# HELP \(name) \(h)\n") }
            append(shards[first.shard].text[first.family.type], to: &out)
            for (k, f) in parts { append(shards[k].text[f.samples], to: &out) }
        }
        return out
    }

    /// Appends `bytes`, ending them with a line feed when they lack one.
    private static func append(_ bytes: ArraySlice<UInt8>, to out: inout ByteBuffer) {
        out.writeBytes(bytes)
        if bytes.last != 0x0A { out.writeInteger(UInt8(0x0A)) }
    }

    /// A stable shard for `scope` (FNV-1a of its bytes).
    private static func shard(of scope: String) -> Int {
        var h: UInt64 = 0xcbf29ce484222325
        for b in scope.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return Int(h % UInt64(shardCount))
    }
}

/// The scopes of one scrape, handed to the worker threads: their bodies only read the
/// snapshot they were made from, and each scope is set by one thread.
private struct UncheckedScopes: @unchecked Sendable {
    let scopes: [MetricScopes.Scope]
    init(_ scopes: [MetricScopes.Scope]) { self.scopes = scopes }
}
