import Foundation

/// What the service answered to a request that failed: the HTTP status and the code and
/// message of S3's XML error body (when it sent one).
package struct S3ServiceFailure: Sendable, Equatable {
    package let operation: String
    package let bucket: String
    package let key: String?
    package let status: Int
    package let code: String?
    package let message: String?
    package let requestId: String?
    /// Attempts made (retries included) before giving up.
    package let attempts: Int

    /// "PUT of s3://bucket/key" or "LIST of s3://bucket".
    var target: String { "\(operation) of s3://\(bucket)\(key.map { "/" + $0 } ?? "")" }

    var answer: String {
        var text = "HTTP \(status)"
        if let code { text += " \(code)" }
        if let message, !message.isEmpty { text += ": \(message)" }
        if let requestId { text += " (request id \(requestId))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }
}

/// Every failure of an S3 operation. Each description says what happened, on which bucket and
/// key, what the service answered and what to do next; none ever contains a secret.
package enum S3Error: Error, CustomStringConvertible, Equatable {
    /// A conditional write (`If-None-Match: *`) found the key taken: another writer got there first.
    case alreadyExists(bucket: String, key: String)
    /// The bucket or the object does not exist (404, NoSuchBucket, NoSuchKey).
    case notFound(S3ServiceFailure)
    /// The service refused the credentials or the permission (401, 403).
    case accessDenied(S3ServiceFailure)
    /// Any other error answer, including 5xx and throttling still failing after every retry.
    case service(S3ServiceFailure)
    /// No answer: connection refused or reset, name resolution or TLS failure, timeout.
    case unreachable(endpoint: String, operation: String, bucket: String, key: String?, attempts: Int, detail: String)
    /// The bytes sent or received do not match (size or checksum).
    case integrity(bucket: String, key: String, detail: String)
    /// An answer that is not what S3 sends (unparsable XML, a missing header).
    case invalidResponse(operation: String, bucket: String, key: String?, detail: String)
    /// Reading or writing the local file failed.
    case localFile(path: String, operation: String, errno: Int32)
    /// `get` would have to hold more than its limit in memory.
    case tooLarge(bucket: String, key: String, size: UInt64, limit: Int)
    /// The key cannot name an object.
    case invalidKey(bucket: String, key: String, problem: String)
    /// User metadata that cannot be sent in a header.
    case invalidMetadata(bucket: String, key: String, problem: String)
    case cancelled(operation: String)

    package var description: String {
        switch self {
        case let .alreadyExists(bucket, key):
            return "s3://\(bucket)/\(key) already exists: the conditional write (If-None-Match: *) was refused with HTTP 412 so the existing object is kept. Another writer created it first; use another key or delete the existing object deliberately."
        case let .notFound(failure), let .accessDenied(failure), let .service(failure):
            return "\(failure.target) failed: \(failure.answer). \(S3ErrorAdvice.nextStep(failure))"
        case let .unreachable(endpoint, operation, bucket, key, attempts, detail):
            return "\(operation) of s3://\(bucket)\(key.map { "/" + $0 } ?? "") got no answer from \(endpoint) after \(attempts) attempt\(attempts == 1 ? "" : "s") (\(detail)). Check that the endpoint URL is right and reachable from this machine (network, DNS, proxy, firewall, TLS), then try again."
        case let .integrity(bucket, key, detail):
            return "s3://\(bucket)/\(key) failed its integrity check: \(detail). Nothing was accepted; try again, and if it persists check the network path (proxies) and the storage service."
        case let .invalidResponse(operation, bucket, key, detail):
            return "\(operation) of s3://\(bucket)\(key.map { "/" + $0 } ?? ""): the service's answer is not a valid S3 response (\(detail)). Check that the endpoint is an S3-compatible service."
        case let .localFile(path, operation, errno):
            return "\(operation) failed for \(path): \(String(cString: strerror(errno))) (errno \(errno)). Check that the path exists, is readable (or writable) and that the disk is healthy."
        case let .tooLarge(bucket, key, size, limit):
            return "s3://\(bucket)/\(key) has \(size) bytes, more than the \(limit) bytes read into memory at once. Download it to a file instead."
        case let .invalidKey(bucket, key, problem):
            return "'\(key)' cannot be an object key in s3://\(bucket): \(problem). Keys have 1 to 1024 bytes of UTF-8."
        case let .invalidMetadata(bucket, key, problem):
            return "The metadata given for s3://\(bucket)/\(key) cannot be sent: \(problem). Nothing was stored."
        case let .cancelled(operation):
            return "\(operation) was cancelled before it completed."
        }
    }

    /// The service's failure, when it answered.
    package var serviceFailure: S3ServiceFailure? {
        switch self {
        case let .notFound(failure), let .accessDenied(failure), let .service(failure): return failure
        default: return nil
        }
    }

    /// An error for a failed answer, by status and code.
    static func from(_ failure: S3ServiceFailure) -> S3Error {
        if failure.status == 404 || failure.code == "NoSuchKey" || failure.code == "NoSuchBucket" { return .notFound(failure) }
        if failure.status == 401 || failure.status == 403 { return .accessDenied(failure) }
        return .service(failure)
    }
}

/// What to do next about a failure, by S3 error code, then by HTTP status.
enum S3ErrorAdvice {
    static func nextStep(_ failure: S3ServiceFailure) -> String {
        if let code = failure.code, let advice = byCode[code] { return advice }
        switch failure.status {
        case 301, 307: return regionAdvice
        case 401, 403: return "Check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and that they are allowed this operation on the bucket."
        case 404: return "Check the bucket name, the key, the region (AWS_REGION) and the endpoint."
        case 429, 500...599: return "The service is overloaded or failing; try again later, and check the service's status."
        default: return "Check the request against the service's documentation; the code and message above come from the service."
        }
    }

    private static let regionAdvice = "The bucket is in another region: set AWS_REGION to the bucket's region (or give the right endpoint)."

    private static let byCode: [String: String] = [
        "InvalidAccessKeyId": "The service does not know this access key id: check AWS_ACCESS_KEY_ID, and that the endpoint is the service the key belongs to.",
        "SignatureDoesNotMatch": "The secret key does not match the access key id: check AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials).",
        "InvalidToken": "The session token is not valid: check AWS_SESSION_TOKEN, or unset it for long-term credentials.",
        "ExpiredToken": "The temporary credentials have expired: get new ones (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).",
        "RequestTimeTooSkewed": "This machine's clock is too far from the service's: synchronise it (NTP), then try again.",
        "AccessDenied": "The credentials are not allowed this operation: grant it on the bucket (IAM policy or bucket policy).",
        "NoSuchBucket": "The bucket does not exist: check its name, the region (AWS_REGION) and the endpoint, or create it.",
        "NoSuchKey": "The object does not exist: check the key and the repository's prefix.",
        "NoSuchUpload": "The multipart upload no longer exists (aborted or completed elsewhere); start the upload again.",
        "AuthorizationHeaderMalformed": regionAdvice,
        "PermanentRedirect": regionAdvice,
        "IllegalLocationConstraintException": regionAdvice,
        "SlowDown": "The service is throttling requests: try again later, or lower the number of parallel transfers.",
        "InvalidDigest": "The checksum sent did not match the data received: check the network path (proxies), then try again.",
        "BadDigest": "The checksum sent did not match the data received: check the network path (proxies), then try again.",
        "EntityTooLarge": "The object is larger than the service accepts in one request.",
    ]
}
