import Metrics

/// The series of one scope (the agent, a database, a remote), scrape after scrape: swift-metrics
/// gauges and counters made once per name and labels, set from each snapshot, and destroyed
/// when a snapshot no longer has them (a database removed, a remote gone, a value unknown).
///
/// A scope's series are set in the same order at every scrape, so each is looked for first
/// where it was the last time (a comparison of its name and labels, no hashing); only a scrape
/// that departs from that order falls back to a lookup by key.
///
/// Counters are monotonic: each scrape adds the growth of the snapshot's cumulative value since
/// the previous scrape (all of it when the value went down, the count having started again).
struct MetricSeriesTable {
    private struct Key: Hashable {
        var name: String
        var labels: [String]

        init(_ name: String, _ labels: [(String, String)]) {
            self.name = name
            self.labels = labels.flatMap { [$0.0, $0.1] }
        }
    }

    private enum Series {
        /// A gauge and the value last recorded (a value unchanged is not recorded again: most
        /// of a scrape's series are, and the gauges lie all over memory).
        case gauge(Gauge, last: Double)
        case counter(Counter, last: UInt64)

        func destroy() {
            switch self {
            case .gauge(let g, _): g.destroy()
            case .counter(let c, _): c.destroy()
            }
        }
    }

    private struct Entry {
        let name: String
        let labels: [(String, String)]
        var series: Series

        func matches(_ n: String, _ l: [(String, String)]) -> Bool {
            guard name == n, labels.count == l.count else { return false }
            for i in labels.indices where labels[i] != l[i] { return false }
            return true
        }
    }

    private let factory: any MetricsFactory
    /// Labels every series of the table carries first (its database, its remote), left out of
    /// the comparisons.
    private let common: [(String, String)]
    /// The series in the order the last scrape set them.
    private var entries: [Entry] = []
    /// How many of `entries` this scrape set, in order.
    private var cursor = 0
    /// Once this scrape departed from the last order: the series it set, in its order, and
    /// the last scrape's not set yet, by key.
    private var reordered: (set: [Entry], left: [Key: Entry])?
    /// The last scrape of the exporter that set series here (see `MetricScopes`).
    var scrape = 0

    init(factory: any MetricsFactory, common: [(String, String)] = []) {
        self.factory = factory
        self.common = common
    }

    /// How many series the last scrape set.
    var count: Int { entries.count }

    /// Sets the gauge `name{labels}` to `value` (a value that is not finite leaves it out).
    mutating func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        guard value.isFinite else { return }
        let (factory, common) = (factory, common)
        let make = { Series.gauge(Gauge(label: name, dimensions: common + labels, factory: factory), last: .nan) }
        update(name, labels, make: make, set: { series in
            guard case .gauge(let g, let last) = series, value != last else { return }
            g.record(value)
            series = .gauge(g, last: value)
        })
    }

    /// Brings the counter `name{labels}` to the snapshot's cumulative `value`.
    mutating func counter(_ name: String, _ labels: [(String, String)], cumulative value: UInt64) {
        let (factory, common) = (factory, common)
        let make = { Series.counter(Counter(label: name, dimensions: common + labels, factory: factory), last: 0) }
        update(name, labels, make: make, set: { series in
            guard case .counter(let c, let last) = series else { return }
            let growth = value >= last ? value - last : value
            if growth > 0 { c.increment(by: Int64(min(growth, UInt64(Int64.max)))) }
            series = .counter(c, last: value)
        })
    }

    /// Sets the series of scrape `number` through `body`; those it does not set are destroyed.
    mutating func set(scrape number: Int, _ body: (inout MetricSeriesTable) -> Void) {
        body(&self)
        finishScrape()
        scrape = number
    }

    /// Destroys every series (the scope is gone).
    mutating func destroyAll() {
        finishScrape()
    }

    /// The series `name{labels}`: where the last scrape had it, else found by key, else made.
    private mutating func update(_ name: String, _ labels: [(String, String)], make: () -> Series, set body: (inout Series) -> Void) {
        if reordered == nil, cursor < entries.count, entries[cursor].matches(name, labels) {
            body(&entries[cursor].series)
            cursor += 1
            return
        }
        if reordered == nil {
            var left: [Key: Entry] = [:]
            for e in entries[cursor...] { left[Key(e.name, e.labels)] = e }
            reordered = (Array(entries[..<cursor]), left)
        }
        var entry = reordered?.left.removeValue(forKey: Key(name, labels)) ?? Entry(name: name, labels: labels, series: make())
        body(&entry.series)
        reordered?.set.append(entry)
    }

    /// Destroys the series this scrape did not set, and keeps the order it set the others in.
    private mutating func finishScrape() {
        if let (set, left) = reordered {
            for e in left.values { e.series.destroy() }
            entries = set
        } else {
            for e in entries[cursor...] { e.series.destroy() }
            entries.removeLast(entries.count - cursor)
        }
        reordered = nil
        cursor = 0
    }
}
