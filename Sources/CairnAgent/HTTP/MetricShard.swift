import Foundation
import Prometheus

/// One shard of `MetricScopes`: a registry, the series tables of the scopes hashed to it, and
/// its last emitted text with where each family lies in it (its buffer reused scrape after
/// scrape).
///
/// `@unchecked Sendable`: a shard is only touched while its exporter's lock is held, and during
/// a scrape by one worker thread at a time.
final class MetricShard: @unchecked Sendable {
    struct Family {
        let name: String
        /// The `# TYPE` line.
        let type: Range<Int>
        let samples: Range<Int>
    }

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private var tables: [String: MetricSeriesTable] = [:]
    private(set) var text: [UInt8] = []
    private(set) var families: [Family] = []

    init() { factory = PrometheusMetricsFactory(registry: registry) }

    /// Sets the series of `scopes` (those of other scopes are destroyed), then emits.
    func set(_ scopes: [MetricScopes.Scope], scrape: Int) {
        for s in scopes {
            // In place: the table is not copied out of the dictionary and back.
            tables[s.name, default: MetricSeriesTable(factory: factory, common: s.common)].set(scrape: scrape, s.body)
        }
        for (name, table) in tables where table.scrape != scrape {
            var gone = table
            gone.destroyAll()
            tables[name] = nil
        }
        text.removeAll(keepingCapacity: true)
        registry.emit(into: &text)
        families = Self.families(text)
    }

    /// Each family's block (from its `# TYPE` line to the next one). Only a line starts with
    /// "# TYPE ": label values have their line feeds escaped.
    private static func families(_ text: [UInt8]) -> [Family] {
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
        return starts.indices.map { i in
            let end = i + 1 < starts.count ? starts[i + 1] : text.count
            let typeEnd = text[starts[i]..<end].firstIndex(of: 0x0A).map { $0 + 1 } ?? end
            let name = String(decoding: text[(starts[i] + 7)..<typeEnd].prefix { $0 != 0x20 && $0 != 0x0A }, as: UTF8.self)
            return Family(name: name, type: starts[i]..<typeEnd, samples: typeEnd..<end)
        }
    }
}
