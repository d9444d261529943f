import Foundation

/// S3's XML answers, decoded. Each decoder returns nil when a required element is missing.
enum S3Responses {
    struct ErrorBody: Equatable {
        let code: String?
        let message: String?
        let requestId: String?
    }

    struct ObjectsPage {
        var listing = S3Listing()
        var nextContinuationToken: String?
    }

    struct UploadsPage {
        var uploads: [S3MultipartUpload] = []
        var nextKeyMarker: String?
        var nextUploadIdMarker: String?
    }

    struct Completion {
        let etag: String
        let checksumSHA256: String?
    }

    /// `<Error><Code/><Message/><RequestId/></Error>`.
    static func errorBody(_ root: S3XMLElement?) -> ErrorBody? {
        guard let root, root.name == "Error" else { return nil }
        return ErrorBody(code: root.value("Code"), message: root.value("Message"), requestId: root.value("RequestId"))
    }

    /// ListObjectsV2's `ListBucketResult` (keys and prefixes decoded when EncodingType is url).
    static func objectsPage(_ root: S3XMLElement) -> ObjectsPage? {
        guard root.name == "ListBucketResult" else { return nil }
        let encoded = root.value("EncodingType") == "url"
        func decoded(_ text: String) -> String? { encoded ? URIEncoding.decode(text, plusIsSpace: true) : text }
        var page = ObjectsPage()
        for item in root.all("Contents") {
            guard let key = item.value("Key").flatMap(decoded), let size = item.value("Size").flatMap({ UInt64($0) }) else { return nil }
            page.listing.objects.append(S3ObjectSummary(key: key, size: size, etag: item.value("ETag"), lastModified: item.value("LastModified").flatMap(AmzDate.parseISO8601)))
        }
        for group in root.all("CommonPrefixes") {
            guard let prefix = group.value("Prefix").flatMap(decoded) else { return nil }
            page.listing.commonPrefixes.append(prefix)
        }
        if root.value("IsTruncated") == "true" {
            guard let token = root.value("NextContinuationToken"), !token.isEmpty else { return nil }
            page.nextContinuationToken = token
        }
        return page
    }

    /// ListMultipartUploads' `ListMultipartUploadsResult`.
    static func uploadsPage(_ root: S3XMLElement) -> UploadsPage? {
        guard root.name == "ListMultipartUploadsResult" else { return nil }
        var page = UploadsPage()
        for upload in root.all("Upload") {
            guard let key = upload.value("Key"), let id = upload.value("UploadId") else { return nil }
            page.uploads.append(S3MultipartUpload(key: key, uploadId: id, initiated: upload.value("Initiated").flatMap(AmzDate.parseISO8601)))
        }
        if root.value("IsTruncated") == "true" {
            guard let key = root.value("NextKeyMarker") else { return nil }
            page.nextKeyMarker = key
            page.nextUploadIdMarker = root.value("NextUploadIdMarker")
        }
        return page
    }

    /// CreateMultipartUpload's upload id.
    static func uploadId(_ root: S3XMLElement) -> String? {
        guard root.name == "InitiateMultipartUploadResult", let id = root.value("UploadId"), !id.isEmpty else { return nil }
        return id
    }

    /// CompleteMultipartUpload's result (moto names it CompleteMultipartUploadResponse).
    static func completion(_ root: S3XMLElement) -> Completion? {
        guard root.name == "CompleteMultipartUploadResult" || root.name == "CompleteMultipartUploadResponse", let etag = root.value("ETag") else { return nil }
        return Completion(etag: etag, checksumSHA256: root.value("ChecksumSHA256"))
    }

    /// The body of CompleteMultipartUpload.
    static func completeRequestBody(_ parts: [UploadedPart]) -> String {
        let items = parts.map { part in
            "<Part><ChecksumSHA256>\(part.checksum.base64)</ChecksumSHA256><ETag>\(MiniXML.escape(part.etag))</ETag><PartNumber>\(part.number)</PartNumber></Part>"
        }
        return "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + items.joined() + "</CompleteMultipartUpload>"
    }
}

/// A part sent in a multipart upload.
struct UploadedPart: Sendable {
    let number: Int
    let etag: String
    let checksum: PayloadDigest
    let size: Int
}
