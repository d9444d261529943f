import CairnObjectStore

/// Object-storage traffic of this process, per bucket, from the shared S3 clients.
enum RemoteTrafficReader {
    static func current() -> [RemoteTraffic] {
        S3ClientRegistry.shared.trafficByBucket.sorted { $0.key < $1.key }.map { remote, c in
            var t = RemoteTraffic(remote: remote)
            t.requests = c.byKind.filter { $0.key != "retries" }
            t.bytesSent = c.bytesSent
            t.bytesReceived = c.bytesReceived
            t.errors = UInt64(c.errors)
            return t
        }
    }
}
