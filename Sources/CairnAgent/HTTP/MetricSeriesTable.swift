import Metrics

/// The series of one scrape after another: swift-metrics gauges and counters made once per
/// name and labels, set from each snapshot, and destroyed when a snapshot no longer has them (a
/// database removed, a remote gone, a value unknown).
///
/// Counters are monotonic: each scrape adds the growth of the snapshot's cumulative value since
/// the previous scrape (all of it when the value went down, the count having started again).
struct MetricSeriesTable {
    private struct Key: Hashable {
        var name: String
        var labels: [String]
    }

    private struct GaugeSeries {
        var gauge: Gauge
        var generation: Int
    }

    private struct CounterSeries {
        var counter: Counter
        var last: UInt64
        var generation: Int
    }

    private let factory: any MetricsFactory
    /// Labels every series of the table carries first (its database, its remote), left out of
    /// the keys: a lookup hashes the name and the few labels of its own.
    private let common: [(String, String)]
    private var gauges: [Key: GaugeSeries] = [:]
    private var counters: [Key: CounterSeries] = [:]
    private var generation = 0
    /// The last scrape of the exporter that set series here (see `MetricScopes`).
    var scrape = 0

    init(factory: any MetricsFactory, common: [(String, String)] = []) {
        self.factory = factory
        self.common = common
    }

    /// How many series the last scrape set.
    var count: Int { gauges.count + counters.count }

    /// Starts a scrape: the series not set from now on are destroyed by `finishScrape()`.
    mutating func beginScrape() { generation += 1 }

    /// Sets the gauge `name{labels}` to `value` (a value that is not finite leaves it out).
    mutating func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        guard value.isFinite else { return }
        let key = Key(name: name, labels: Self.flatten(labels))
        if let i = gauges.index(forKey: key) {
            // In place: one lookup, not a second one to store the series back.
            gauges.values[i].generation = generation
            gauges.values[i].gauge.record(value)
        } else {
            let gauge = Gauge(label: name, dimensions: common + labels, factory: factory)
            gauge.record(value)
            gauges[key] = GaugeSeries(gauge: gauge, generation: generation)
        }
    }

    /// Brings the counter `name{labels}` to the snapshot's cumulative `value`.
    mutating func counter(_ name: String, _ labels: [(String, String)], cumulative value: UInt64) {
        let key = Key(name: name, labels: Self.flatten(labels))
        var series = counters[key] ?? CounterSeries(counter: Counter(label: name, dimensions: common + labels, factory: factory), last: 0, generation: generation)
        let growth = value >= series.last ? value - series.last : value
        if growth > 0 { series.counter.increment(by: Int64(min(growth, UInt64(Int64.max)))) }
        series.last = value
        series.generation = generation
        counters[key] = series
    }

    /// Sets the series of scrape `number` through `body`; those it does not set are destroyed.
    mutating func set(scrape number: Int, _ body: (inout MetricSeriesTable) -> Void) {
        beginScrape()
        body(&self)
        finishScrape()
        scrape = number
    }

    /// Destroys every series (the scope is gone).
    mutating func destroyAll() {
        beginScrape()
        finishScrape()
    }

    /// Destroys the series this scrape did not set.
    mutating func finishScrape() {
        for (key, series) in gauges where series.generation != generation {
            series.gauge.destroy()
            gauges[key] = nil
        }
        for (key, series) in counters where series.generation != generation {
            series.counter.destroy()
            counters[key] = nil
        }
    }

    private static func flatten(_ labels: [(String, String)]) -> [String] {
        var flat: [String] = []
        flat.reserveCapacity(labels.count * 2)
        for (name, value) in labels {
            flat.append(name)
            flat.append(value)
        }
        return flat
    }
}
