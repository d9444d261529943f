import Foundation

/// What a PUT stored.
package struct S3PutResult: Sendable, Equatable {
    package let key: String
    package let size: UInt64
    package let etag: String
    /// The `x-amz-checksum-sha256` the service confirmed (base64; `…-N` for a multipart
    /// object: the SHA-256 of its parts' SHA-256s), nil when the service did not report one.
    package let checksumSHA256: String?
    /// SHA-256 of the whole content, lowercase hex, computed while sending it.
    package let sha256: String
    /// 1 for a single PUT, else the number of parts.
    package let parts: Int
}

/// An object's metadata, from HEAD.
package struct S3ObjectInfo: Sendable, Equatable {
    package let key: String
    package let size: UInt64
    package let etag: String
    package let lastModified: Date?
    /// The stored `x-amz-checksum-sha256` (base64, `…-N` for a multipart object), if any.
    package let checksumSHA256: String?
    /// User metadata (`x-amz-meta-NAME` headers), by lowercase NAME.
    package let metadata: [String: String]

    /// Stored by multipart upload: S3 gives such objects an ETag ending with `-N` (N parts).
    package var isMultipart: Bool {
        let tag = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let dash = tag.lastIndex(of: "-") else { return false }
        return !tag[tag.index(after: dash)...].isEmpty && tag[tag.index(after: dash)...].allSatisfy(\.isASCIIDigit)
    }
}

/// One object of a listing.
package struct S3ObjectSummary: Sendable, Equatable {
    package let key: String
    package let size: UInt64
    package let etag: String?
    package let lastModified: Date?
}

/// A listing: the objects under a prefix and, with a delimiter, the common prefixes that
/// group the rest (each ending with the delimiter).
package struct S3Listing: Sendable, Equatable {
    package var objects: [S3ObjectSummary] = []
    package var commonPrefixes: [String] = []
}

/// What `download` wrote.
package struct S3DownloadResult: Sendable, Equatable {
    package let size: UInt64
    package let etag: String
    /// Ranged GETs used (1 for a small object).
    package let ranges: Int
    /// True when the object carried a whole-object SHA-256 and the file matched it.
    package let checksumVerified: Bool
}

/// An incomplete multipart upload.
struct S3MultipartUpload: Sendable, Equatable {
    let key: String
    let uploadId: String
    let initiated: Date?
}
