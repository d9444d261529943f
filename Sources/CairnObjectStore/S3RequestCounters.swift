import Synchronization

/// The kinds of request the client counts.
package enum S3RequestKind: Sendable, CaseIterable {
    case put, get, head, list, delete
    /// CopyObject (a PUT with x-amz-copy-source).
    case copy
    /// UploadPart requests.
    case multipartPart
    /// CreateMultipartUpload, CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads.
    case multipartControl
    /// CreateBucket.
    case bucket
}

/// Requests sent so far, by kind. Every attempt counts (a retried PUT counts twice under
/// `puts`); `retries` counts the attempts after the first.
package struct S3RequestCounts: Sendable, Equatable {
    package var puts = 0
    package var gets = 0
    package var heads = 0
    package var lists = 0
    package var deletes = 0
    package var copies = 0
    package var multipartParts = 0
    package var multipartControl = 0
    package var bucketRequests = 0
    package var retries = 0
    /// Payload bytes sent (request bodies) and received (answer bodies), every attempt counted.
    package var bytesSent: UInt64 = 0
    package var bytesReceived: UInt64 = 0
    /// Attempts that failed (an error answer or no answer).
    package var errors = 0

    package init() {}

    /// By kind, as recorded in the control file (see `ObjectRequests`).
    package var byKind: [String: UInt64] {
        ["put": puts, "get": gets, "head": heads, "list": lists, "delete": deletes, "copy": copies, "multipartPart": multipartParts,
         "multipartControl": multipartControl, "bucket": bucketRequests, "retries": retries].mapValues { UInt64($0) }
    }

    package mutating func add(_ other: S3RequestCounts) {
        puts += other.puts; gets += other.gets; heads += other.heads; lists += other.lists; deletes += other.deletes
        copies += other.copies; multipartParts += other.multipartParts; multipartControl += other.multipartControl
        bucketRequests += other.bucketRequests; retries += other.retries
        bytesSent += other.bytesSent; bytesReceived += other.bytesReceived; errors += other.errors
    }

    package var total: Int { puts + gets + heads + lists + deletes + copies + multipartParts + multipartControl + bucketRequests }

    mutating func add(_ kind: S3RequestKind) {
        switch kind {
        case .put: puts += 1
        case .get: gets += 1
        case .head: heads += 1
        case .list: lists += 1
        case .delete: deletes += 1
        case .copy: copies += 1
        case .multipartPart: multipartParts += 1
        case .multipartControl: multipartControl += 1
        case .bucket: bucketRequests += 1
        }
    }
}

/// The live counters, safe to update from any task.
final class S3RequestCounters: Sendable {
    private let counts = Mutex(S3RequestCounts())

    func record(_ kind: S3RequestKind, retry: Bool) {
        counts.withLock {
            $0.add(kind)
            if retry { $0.retries += 1 }
        }
    }

    func record(sent: Int) { counts.withLock { $0.bytesSent += UInt64(max(0, sent)) } }
    func record(received: Int) { counts.withLock { $0.bytesReceived += UInt64(max(0, received)) } }
    func recordError() { counts.withLock { $0.errors += 1 } }

    var snapshot: S3RequestCounts { counts.withLock { $0 } }
}
