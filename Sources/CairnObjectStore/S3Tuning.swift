/// How the client retries, times out and splits transfers. The payloads that the uploads of
/// one client hold in memory, all files together, stay within `maxBufferedUploadBytes`.
package struct S3Tuning: Sendable, Equatable {
    /// Attempts per request, the first included (retries happen on 5xx, 429, SlowDown,
    /// RequestTimeout and connection failures only).
    package var maxAttempts = 6
    /// Backoff before retry n (1-based) is a random delay in 0 ... min(maxBackoff, baseBackoff × 2^(n-1)).
    package var baseBackoff: Duration = .milliseconds(200)
    package var maxBackoff: Duration = .seconds(20)
    /// Bound on one attempt, from sending the request to the last byte of the response.
    package var requestTimeout: Duration = .seconds(120)
    package var connectTimeout: Duration = .seconds(10)
    /// Longest silence while reading a response before the connection is dropped.
    package var readIdleTimeout: Duration = .seconds(60)
    /// Files up to this size are sent in one PUT; larger ones by multipart upload.
    package var multipartThreshold = 16 << 20
    /// Size of each part of a multipart upload and of each ranged GET of a download.
    package var partSize = 8 << 20
    /// Parts (or ranges) in flight at once for one transfer.
    package var maxConcurrentParts = 4
    /// Payload bytes held in memory at once by all the uploads of one client (parts of
    /// multipart uploads and bodies of single PUTs, from any file or thread): an upload waits
    /// for room before it reads its next part. Files uploaded side by side share it, so the
    /// memory of a backup's upload does not grow with their number. Downloads hold no part
    /// (each range is written to its file as it arrives). Two parts: a part's bytes may outlive
    /// its request briefly (the HTTP client lets go of them on its own thread), and the process
    /// itself maps about 30 MiB, so a backup's upload peaks near 60 MiB (issue 12: ≤ 64 MiB).
    package var maxBufferedUploadBytes = 16 << 20
    /// Largest response `get` holds in memory; bigger objects are read with `download`.
    package var maxInMemoryObject = 64 << 20
    /// Keys asked for per ListObjectsV2 page (S3 sends at most 1000).
    package var listPageSize = 1000

    package init() {}

    package static let standard = S3Tuning()
}
