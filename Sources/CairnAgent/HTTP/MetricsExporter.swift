import Foundation
import Prometheus
import Synchronization

/// `/metrics`: the agent's snapshot in the Prometheus text exposition format.
///
/// Each exporter has its own `PrometheusCollectorRegistry`, given to swift-metrics through a
/// `PrometheusMetricsFactory` (never the global `MetricsSystem`, so that several agents, or
/// tests, can run in one process). Every scrape sets the series from a fresh snapshot.
package final class MetricsExporter: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let table: Mutex<MetricSeriesTable>

    package init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        table = Mutex(MetricSeriesTable(factory: PrometheusMetricsFactory(registry: registry)))
    }

    /// The media type of `render`'s text.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Sets every series from `snapshot` and returns the exposition text.
    package func render(_ snapshot: AgentSnapshot) -> String {
        table.withLock { table in
            table.beginScrape()
            AgentMetrics.record(snapshot, into: &table)
            table.finishScrape()
            var text: [UInt8] = []
            text.reserveCapacity(table.count * 96)
            registry.emit(into: &text)
            return String(decoding: Self.withHelp(text), as: UTF8.self)
        }
    }

    /// `text` with a `# HELP` line before each family's `# TYPE` line, the families sorted by
    /// name (the registry emits them in no particular order).
    static func withHelp(_ text: [UInt8]) -> [UInt8] {
        var families = familyRanges(text).map { range in
            (name: String(decoding: text[range].dropFirst(7).prefix { $0 != 0x20 }, as: UTF8.self), range: range)
        }
        families.sort { $0.name < $1.name }
        var out: [UInt8] = []
        out.reserveCapacity(text.count + families.count * 120)
        for family in families {
            if let help = AgentMetrics.help[family.name] { out.append(contentsOf: "# HELP \(family.name) \(help)\n".utf8) }
            out.append(contentsOf: text[family.range])
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
