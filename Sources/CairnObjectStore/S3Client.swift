import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// A client for one bucket of an S3-compatible service, over one HTTP client it creates and
/// shuts down (`shutdown()` must be called before the last reference goes). Keys are full
/// object keys (`S3Location.key(_:)` builds them under a prefix). Every failure is an S3Error.
package final class S3Client: Sendable {
    package let configuration: S3Configuration
    package let bucket: String
    let transport: S3Transport
    private let http: HTTPClient
    private let counters = S3RequestCounters()
    /// Bounds the payload bytes the uploads hold in memory (`tuning.maxBufferedUploadBytes`).
    let uploadBudget: TransferBudget

    package init(bucket: String, configuration: S3Configuration, logger: Logger = Logger(label: "cairn.s3")) throws(S3ConfigurationError) {
        try S3Location.validateBucket(bucket)
        let tuning = configuration.tuning
        var settings = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: Self.timeAmount(tuning.connectTimeout), read: Self.timeAmount(tuning.readIdleTimeout)))
        settings.decompression = .disabled
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings, backgroundActivityLogger: logger)
        self.configuration = configuration
        self.bucket = bucket
        self.http = http
        self.uploadBudget = TransferBudget(capacity: tuning.maxBufferedUploadBytes)
        self.transport = S3Transport(http: http, configuration: configuration, signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region),
                                     counters: counters, logger: logger)
    }

    /// Closes the connections. The client cannot be used afterwards.
    package func shutdown() async {
        do {
            try await http.shutdown()
        } catch {
            transport.logger.warning("S3 client shutdown: \(error)")
        }
    }

    /// Requests sent so far, by kind.
    package var requestCounts: S3RequestCounts { counters.snapshot }

    /// The object's size, ETag, modification time, stored SHA-256 checksum and user metadata;
    /// nil when it does not exist.
    package func head(key: String) async throws(S3Error) -> S3ObjectInfo? {
        try await run("HEAD", key: key) { try await self.headObject(key) }
    }

    /// The object's bytes, or those of `range` (offsets in the object, end excluded).
    package func get(key: String, range: Range<UInt64>? = nil) async throws(S3Error) -> [UInt8] {
        try await run("GET", key: key) { try await self.getObject(key, range: range) }
    }

    /// Deletes the object (nothing happens when it does not exist).
    package func delete(key: String) async throws(S3Error) {
        try await run("DELETE", key: key) {
            _ = try await self.transport.send(S3Request(.delete, "DELETE", .DELETE, bucket: self.bucket, key: key))
        }
    }

    /// Stores `bytes` (a small object, sent in one PUT). With `ifNoneMatch`, fails with
    /// `alreadyExists` rather than replace an existing object. `metadata`: user metadata.
    package func put(key: String, bytes: [UInt8], ifNoneMatch: Bool = false, metadata: [String: String] = [:]) async throws(S3Error) -> S3PutResult {
        let userMetadata = try Self.metadataHeaders(metadata, bucket: bucket, key: key)
        return try await run("PUT", key: key) { try await self.putSingle(key, ByteBuffer(bytes: bytes), ifNoneMatch: ifNoneMatch, metadata: userMetadata) }
    }

    /// Creates the bucket in the configured region (nothing happens when this account owns it already).
    package func createBucket() async throws(S3Error) {
        try await run("CreateBucket", key: nil) {
            var request = S3Request(.bucket, "CreateBucket", .PUT, bucket: self.bucket, key: nil)
            if self.configuration.region != "us-east-1" {
                let body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(MiniXML.escape(self.configuration.region))</LocationConstraint></CreateBucketConfiguration>"
                request.setBody(ByteBuffer(string: body), hash: Digests.sha256Hex(body))
            }
            do {
                _ = try await self.transport.send(request)
            } catch let error as S3Error where error.serviceFailure?.code == "BucketAlreadyOwnedByYou" {
                return
            }
        }
    }

    /// Runs `body`, turning whatever it throws into an S3Error.
    func run<T>(_ operation: String, key: String?, _ body: () async throws -> T) async throws(S3Error) -> T {
        if let key { try Self.validateKey(key, bucket: bucket, operation: operation) }
        do {
            return try await body()
        } catch let error as S3Error {
            throw error
        } catch is CancellationError {
            throw .cancelled(operation: "\(operation) of s3://\(bucket)\(key.map { "/" + $0 } ?? "")")
        } catch {
            throw .invalidResponse(operation: operation, bucket: bucket, key: key, detail: String(describing: error))
        }
    }

    static func validateKey(_ key: String, bucket: String, operation: String) throws(S3Error) {
        guard !key.isEmpty, key.utf8.count <= 1024 else {
            throw .invalidKey(bucket: bucket, key: key, problem: key.isEmpty ? "it is empty" : "it is longer than 1024 bytes")
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(RetryPolicy.seconds(duration) * 1e9))
    }
}

extension S3Client {
    static let metadataPrefix = "x-amz-meta-"

    func headObject(_ key: String) async throws -> S3ObjectInfo? {
        var request = S3Request(.head, "HEAD", .HEAD, bucket: bucket, key: key)
        request.headers = [(name: "x-amz-checksum-mode", value: "ENABLED")]
        request.accepted = [404]
        let response = try await transport.send(request)
        if response.status == 404 { return nil }
        guard let size = response.header("content-length").flatMap({ UInt64($0) }) else {
            throw S3Error.invalidResponse(operation: "HEAD", bucket: bucket, key: key, detail: "no Content-Length")
        }
        var metadata: [String: String] = [:]
        for header in response.headers where header.name.lowercased().hasPrefix(Self.metadataPrefix) {
            metadata[String(header.name.lowercased().dropFirst(Self.metadataPrefix.count))] = header.value
        }
        return S3ObjectInfo(key: key, size: size, etag: response.header("etag") ?? "", lastModified: response.header("last-modified").flatMap(AmzDate.parseHTTPDate),
                            checksumSHA256: response.header("x-amz-checksum-sha256"), metadata: metadata)
    }

    func getObject(_ key: String, range: Range<UInt64>?) async throws -> [UInt8] {
        if let range, range.isEmpty { return [] }
        var request = S3Request(.get, "GET", .GET, bucket: bucket, key: key)
        if let range { request.headers = [(name: "range", value: "bytes=\(range.lowerBound)-\(range.upperBound - 1)")] }
        let limit = configuration.tuning.maxInMemoryObject
        let bucket = self.bucket
        let body = try await transport.send(request) { response in
            if let size = response.headers.first(name: "content-length").flatMap({ UInt64($0) }), size > UInt64(limit) {
                throw S3Error.tooLarge(bucket: bucket, key: key, size: size, limit: limit)
            }
            let body = try await response.body.collect(upTo: limit)
            // A server that ignores Range answers 200 with the whole object: keep the range asked for.
            guard let range, response.status == .ok else { return Array(body.readableBytesView) }
            let bytes = Array(body.readableBytesView)
            let lower = Int(clamping: min(range.lowerBound, UInt64(bytes.count))), upper = Int(clamping: min(range.upperBound, UInt64(bytes.count)))
            return Array(bytes[lower..<upper])
        }
        return body
    }
}
