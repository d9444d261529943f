import Foundation

/// Everything the agent knows at one instant, as the HTTP endpoints show it (`/metrics`,
/// `/healthz`, the status pages): built by the agent on request, read-only, plain values.
package struct AgentSnapshot: Sendable, Codable, Equatable {
    package var startedAt: Date
    package var takenAt: Date
    package var configFile: String
    /// Problems of the agent itself (a configuration entry it could not use, the inotify limit, …).
    package var problems: [String] = []
    package var databases: [DatabaseSnapshot] = []
    /// Object-storage traffic, per remote (`s3://bucket/prefix`), since the agent started.
    package var remoteTraffic: [RemoteTraffic] = []

    package init(startedAt: Date, takenAt: Date, configFile: String) {
        self.startedAt = startedAt
        self.takenAt = takenAt
        self.configFile = configFile
    }
}

/// Where the agent provides its snapshots from (the running agent, or a fixed one in tests).
package protocol AgentStatusSource: Sendable {
    func snapshot() async -> AgentSnapshot
}

/// Requests, bytes and errors sent to one remote.
package struct RemoteTraffic: Sendable, Codable, Equatable {
    package var remote: String
    /// By kind: put, get, head, list, delete, copy, multipartPart, multipartControl, bucket.
    package var requests: [String: UInt64] = [:]
    package var bytesSent: UInt64 = 0
    package var bytesReceived: UInt64 = 0
    package var errors: UInt64 = 0

    package init(remote: String) { self.remote = remote }
}
