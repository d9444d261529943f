@testable import CairnAgent
import CairnTestSupport
import Foundation
import Prometheus
import Testing

/// A scope's series are looked for where the last scrape set them; a scrape that sets them in
/// another order, adds some or leaves some out still ends with exactly its series and values.
@Suite struct MetricSeriesTableTests {
    @Test func seriesInAnyOrderKeepTheirValuesAndOnlyThem() throws {
        let registry = PrometheusCollectorRegistry()
        var table = MetricSeriesTable(factory: PrometheusMetricsFactory(registry: registry), common: [("database", "/a.db")])
        func scrape(_ body: (inout MetricSeriesTable) -> Void) throws -> PrometheusText.Parsed {
            table.set(scrape: 0, body)
            var text: [UInt8] = []
            registry.emit(into: &text)
            return try PrometheusText.parse(String(decoding: text, as: UTF8.self))
        }
        let db = ["database": "/a.db"]
        /// The labels of a series of the table: its database's, and `extra`.
        func labels(_ extra: [String: String]) -> [String: String] { db.merging(extra) { $1 } }
        var p = try scrape { t in
            t.gauge("g_a", [], 1)
            t.gauge("g_b", [("x", "1")], 2)
            t.gauge("g_c", [], 3)
            t.counter("c_total", [("job", "j")], cumulative: 5)
        }
        #expect(p.value("g_a", db) == 1 && p.value("g_b", labels(["x": "1"])) == 2 && p.value("c_total", labels(["job": "j"])) == 5)
        #expect(table.count == 4)

        // Another order, a new series, one left out, the counter grown.
        p = try scrape { t in
            t.gauge("g_b", [("x", "1")], 20)
            t.gauge("g_e", [], 5)
            t.gauge("g_b", [("x", "2")], 22)
            t.gauge("g_a", [], 10)
            t.counter("c_total", [("job", "j")], cumulative: 7)
        }
        #expect(p.value("g_a", db) == 10 && p.value("g_e", db) == 5 && p.value("g_c", db) == nil)
        #expect(p.value("g_b", labels(["x": "1"])) == 20 && p.value("g_b", labels(["x": "2"])) == 22)
        #expect(p.value("c_total", labels(["job": "j"])) == 7)
        #expect(table.count == 5)

        // The same order again, then only a first part of it.
        p = try scrape { t in
            t.gauge("g_b", [("x", "1")], 21)
            t.gauge("g_e", [], 6)
            t.gauge("g_b", [("x", "2")], 23)
            t.gauge("g_a", [], 11)
            t.counter("c_total", [("job", "j")], cumulative: 3)
        }
        #expect(p.value("g_e", db) == 6 && p.value("c_total", labels(["job": "j"])) == 10, "a count that went down started again")
        p = try scrape { t in
            t.gauge("g_b", [("x", "1")], 1)
            t.gauge("g_e", [], 1)
        }
        #expect(p.samples.map(\.name).sorted() == ["g_b", "g_e"])
        #expect(table.count == 2)
    }
}
