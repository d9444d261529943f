import Crypto
import Foundation

/// AWS Signature Version 4 for requests signed in the Authorization header. Pure and
/// synchronous: the same request, credentials and date always give the same signature.
package struct SigV4Signer: Sendable {
    package static let algorithm = "AWS4-HMAC-SHA256"

    package let credentials: S3Credentials
    package let region: String
    package let service: String

    package init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request as it will be sent. `path` is the URI path exactly as sent, already
    /// percent-encoded (S3 keys are encoded once, never twice); `query` is not encoded yet.
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var query: [QueryItem]
        /// Every header to sign (Host included); all of them are sent.
        package var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body (S3 also accepts UNSIGNED-PAYLOAD).
        package var payloadHash: String

        package init(method: String, path: String, query: [QueryItem] = [], headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The headers to send: `request`'s own (any x-amz-date or Authorization in them replaced)
    /// plus x-amz-date, x-amz-content-sha256 (when `payloadHashHeader`), x-amz-security-token
    /// (with a session token) and Authorization.
    package func sign(_ request: Request, at date: Date, payloadHashHeader: Bool = true) -> [(name: String, value: String)] {
        let timestamp = AmzDate.timestamp(date)
        var signing = request
        signing.headers.removeAll { ["x-amz-date", "authorization"].contains($0.name.lowercased()) }
        signing.headers.append((name: "x-amz-date", value: timestamp))
        if payloadHashHeader && !signing.has("x-amz-content-sha256") {
            signing.headers.append((name: "x-amz-content-sha256", value: request.payloadHash))
        }
        if let token = credentials.sessionToken, !signing.has("x-amz-security-token") {
            signing.headers.append((name: "x-amz-security-token", value: token))
        }
        let authorization = self.authorization(signing, timestamp: timestamp)
        return signing.headers + [(name: "Authorization", value: authorization)]
    }

    /// The Authorization header's value for `request` (whose headers are final) at `timestamp`.
    package func authorization(_ request: Request, timestamp: String) -> String {
        let dateStamp = String(timestamp.prefix(8))
        let canonical = canonicalRequest(request)
        let signature = self.signature(stringToSign: stringToSign(canonicalRequest: canonical, timestamp: timestamp), dateStamp: dateStamp)
        return "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope(dateStamp)), SignedHeaders=\(signedHeaders(request)), Signature=\(signature)"
    }

    /// Method, path, canonical query, canonical headers, signed header names and payload hash.
    package func canonicalRequest(_ request: Request) -> String {
        let headers = canonicalHeaders(request)
        return [request.method, request.path, URIEncoding.canonicalQuery(request.query),
                headers.map { "\($0.name):\($0.value)\n" }.joined(), headers.map(\.name).joined(separator: ";"), request.payloadHash]
            .joined(separator: "\n")
    }

    package func stringToSign(canonicalRequest: String, timestamp: String) -> String {
        [Self.algorithm, timestamp, scope(String(timestamp.prefix(8))), Digests.sha256Hex(canonicalRequest)].joined(separator: "\n")
    }

    /// HMAC chain: "AWS4" + secret → date → region → service → "aws4_request".
    package func signingKey(dateStamp: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    package func signature(stringToSign: String, dateStamp: String) -> String {
        Digests.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(dateStamp: dateStamp)))
    }

    /// Lowercase hex SHA-256 of a payload, as `payloadHash` wants it.
    package static func payloadHash(_ bytes: [UInt8]) -> String { Digests.hex(SHA256.hash(data: bytes)) }

    private func scope(_ dateStamp: String) -> String { "\(dateStamp)/\(region)/\(service)/aws4_request" }

    private func signedHeaders(_ request: Request) -> String {
        canonicalHeaders(request).map(\.name).joined(separator: ";")
    }

    /// Lowercase names sorted, values trimmed with inner runs of spaces collapsed, the values
    /// of a repeated header joined by commas in the order given.
    private func canonicalHeaders(_ request: Request) -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in request.headers {
            let name = header.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(Self.collapsedSpaces(header.value))
        }
        return order.sorted().map { (name: $0, value: values[$0, default: []].joined(separator: ",")) }
    }

    private static func collapsedSpaces(_ value: String) -> String {
        value.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}

extension SigV4Signer.Request {
    func has(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name } }
}
