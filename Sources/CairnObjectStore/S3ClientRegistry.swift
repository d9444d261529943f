import Logging
import Synchronization

/// One shared `S3Client` per bucket and configuration for the whole process, created on first
/// use: every archive destination in the same bucket (and every call, from any thread) shares
/// its connections.
///
/// Clients live as long as the process. AsyncHTTPClient requires `shutdown()` before an
/// HTTPClient is released (debug builds trap otherwise); the registry is a global that is
/// never destroyed, so its clients are never released, and at exit the system closes their
/// sockets (nothing is buffered in them: every PUT returned only once the service confirmed
/// it). `shutdownAll()` is there for a process that wants to close them earlier; it keeps
/// the closed clients in the registry (they are not released) and later calls create new ones.
package final class S3ClientRegistry: Sendable {
    package static let shared = S3ClientRegistry()

    private struct Entry {
        let bucket: String
        let configuration: S3Configuration
        let client: S3Client
        var closed = false
        /// The last request's endpoint gave no answer (after every retry), and when.
        var silence: (error: S3Error, at: ContinuousClock.Instant)?
    }

    /// How long after its endpoint gave no answer a client is not tried again: each attempt
    /// at a dead endpoint costs the connect timeout times the attempts (a minute by
    /// default), which a recovery looking at every log would pay once per log.
    package static let quietPeriod: Duration = .seconds(30)

    private let entries = Mutex<[Entry]>([])
    private let logger: Logger

    package init(logger: Logger = Logger(label: "cairn.s3")) { self.logger = logger }

    /// The client for `bucket` with `configuration`, created on first use.
    package func client(bucket: String, configuration: S3Configuration) throws(S3ConfigurationError) -> S3Client {
        let logger = logger
        return try entries.withLock { (entries: inout [Entry]) throws(S3ConfigurationError) -> S3Client in
            if let entry = entries.first(where: { !$0.closed && $0.bucket == bucket && $0.configuration == configuration }) { return entry.client }
            let client = try S3Client(bucket: bucket, configuration: configuration, logger: logger)
            entries.append(Entry(bucket: bucket, configuration: configuration, client: client))
            return client
        }
    }

    /// The failure of `client`'s last request when its endpoint gave no answer less than
    /// `quietPeriod` ago, with how long ago.
    package func recentSilence(of client: S3Client) -> (error: S3Error, age: Duration)? {
        entries.withLock { entries in
            guard let silence = entries.first(where: { $0.client === client })?.silence else { return nil }
            let age = ContinuousClock.now - silence.at
            return age < Self.quietPeriod ? (silence.error, age) : nil
        }
    }

    /// Records how a request through `client` ended: `failure` nil when the endpoint answered
    /// (whatever it said), else the `unreachable` error.
    package func record(_ failure: S3Error?, of client: S3Client) {
        entries.withLock { entries in
            guard let i = entries.firstIndex(where: { $0.client === client }) else { return }
            entries[i].silence = failure.map { ($0, ContinuousClock.now) }
        }
    }

    /// Requests sent through every client of the registry so far.
    package var totals: S3RequestCounts {
        entries.withLock { entries in entries.map { $0.client.requestCounts }.reduce(into: S3RequestCounts()) { $0.add($1) } }
    }

    /// Requests, bytes and errors so far, per bucket (`s3://BUCKET`; clients of one bucket
    /// with different settings are added up).
    package var trafficByBucket: [String: S3RequestCounts] {
        entries.withLock { entries in
            entries.reduce(into: [String: S3RequestCounts]()) { $0["s3://" + $1.bucket, default: S3RequestCounts()].add($1.client.requestCounts) }
        }
    }

    /// Number of open clients (tests).
    package var openClients: Int { entries.withLock { $0.filter { !$0.closed }.count } }

    /// Shuts every open client down (they stay referenced, never released unclosed).
    package func shutdownAll() async {
        let open = entries.withLock { entries -> [S3Client] in
            let open = entries.filter { !$0.closed }.map(\.client)
            for i in entries.indices { entries[i].closed = true }
            return open
        }
        for client in open { await client.shutdown() }
    }
}
