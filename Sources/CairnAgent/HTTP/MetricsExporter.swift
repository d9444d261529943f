import Foundation
import NIOCore
import Synchronization

/// `/metrics`: the agent's snapshot in the Prometheus text exposition format.
///
/// The series are swift-metrics gauges and counters made by `PrometheusMetricsFactory`s over
/// registries of the exporter's own (`MetricScopes`: a few shards, each scope of series in one;
/// never the global `MetricsSystem`, so that several agents, or tests, can run in one
/// process). Every scrape sets the series from a fresh snapshot.
package final class MetricsExporter: Sendable {
    private let scopes = Mutex(MetricScopes())
    private let workers: Int

    /// `workers`: threads a scrape sets and emits the shards on.
    package init(workers: Int = Parallel.workers) { self.workers = workers }

    /// The media type of `render`'s text.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Sets every series from `snapshot` and returns the exposition text (UTF-8).
    package func bytes(_ snapshot: AgentSnapshot) -> ByteBuffer {
        let all = AgentMetrics.scopes(snapshot)
        return scopes.withLock { $0.scrape(all, help: AgentMetrics.help, workers: workers) }
    }

    /// Sets every series from `snapshot` and returns the exposition text.
    package func render(_ snapshot: AgentSnapshot) -> String {
        String(buffer: bytes(snapshot))
    }
}
