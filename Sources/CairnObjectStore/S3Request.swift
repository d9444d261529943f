import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One S3 request before it is signed: signed anew at each attempt.
struct S3Request: Sendable {
    let kind: S3RequestKind
    /// How messages name it: "PUT", "GET", "UploadPart 3", "CompleteMultipartUpload"...
    let operation: String
    let method: HTTPMethod
    let bucket: String
    let key: String?
    var query: [QueryItem] = []
    /// Headers to sign and send besides Host and the signature's own.
    var headers: [(name: String, value: String)] = []
    var body: ByteBuffer?
    /// Lowercase hex SHA-256 of `body`.
    var payloadHash = Digests.emptySHA256Hex
    /// Statuses handed back as answers rather than thrown (404 for HEAD).
    var accepted: Set<Int> = []

    init(_ kind: S3RequestKind, _ operation: String, _ method: HTTPMethod, bucket: String, key: String?) {
        self.kind = kind
        self.operation = operation
        self.method = method
        self.bucket = bucket
        self.key = key
    }

    /// Carries `body`, its hash signed as the payload's.
    mutating func setBody(_ body: ByteBuffer, hash: String) {
        self.body = body
        self.payloadHash = hash
    }
}

extension S3Configuration {
    /// Host header and URI path of an object (or of the bucket when `key` is nil). Virtual-hosted
    /// unless path-style is set, or the bucket has a dot under https (its certificate would not match).
    func address(bucket: String, key: String?) -> (host: String, path: String) {
        let keyPath = key.map(URIEncoding.keyPath)
        let virtual = addressingStyle == .virtualHosted && !(bucket.contains(".") && endpoint.scheme == "https")
        if virtual { return (endpoint.hostAuthority(bucket + "." + endpoint.host), keyPath ?? "/") }
        return (endpoint.authority, "/" + bucket + (keyPath ?? ""))
    }

    /// `request` signed at `date`, ready for the HTTP client.
    func httpRequest(_ request: S3Request, signer: SigV4Signer, at date: Date) -> HTTPClientRequest {
        let (host, path) = address(bucket: request.bucket, key: request.key)
        let toSign = SigV4Signer.Request(method: request.method.rawValue, path: path, query: request.query,
                                         headers: [(name: "host", value: host)] + request.headers, payloadHash: request.payloadHash)
        let query = URIEncoding.canonicalQuery(request.query)
        var http = HTTPClientRequest(url: "\(endpoint.scheme)://\(host)\(path)\(query.isEmpty ? "" : "?" + query)")
        http.method = request.method
        for header in signer.sign(toSign, at: date) { http.headers.add(name: header.name, value: header.value) }
        if let body = request.body { http.body = .bytes(body) }
        return http
    }
}
