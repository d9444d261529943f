import Foundation

extension S3Client {
    /// Every object whose key starts with `prefix` (ListObjectsV2, following continuation
    /// tokens). With a delimiter, keys containing it after the prefix are grouped into
    /// `commonPrefixes` instead.
    package func list(prefix: String = "", delimiter: String? = nil) async throws(S3Error) -> S3Listing {
        try await run("LIST", key: nil) {
            var listing = S3Listing()
            var token: String?
            repeat {
                let page = try await listPage(prefix: prefix, delimiter: delimiter, token: token)
                listing.objects += page.listing.objects
                listing.commonPrefixes += page.listing.commonPrefixes
                if page.nextContinuationToken != nil && page.nextContinuationToken == token {
                    throw S3Error.invalidResponse(operation: "ListObjectsV2", bucket: bucket, key: nil, detail: "the same continuation token twice")
                }
                token = page.nextContinuationToken
            } while token != nil
            return listing
        }
    }

    /// Aborts the incomplete multipart uploads under `prefix` started before `cutoff`
    /// (ListMultipartUploads, then AbortMultipartUpload each); returns how many it aborted.
    package func abortIncompleteUploads(prefix: String = "", olderThan cutoff: Date) async throws(S3Error) -> Int {
        try await run("ListMultipartUploads", key: nil) {
            var aborted = 0
            var markers: (key: String, uploadId: String?)?
            repeat {
                let page = try await uploadsPage(prefix: prefix, markers: markers)
                for upload in page.uploads {
                    guard let initiated = upload.initiated, initiated < cutoff else { continue }
                    try await abortMultipartUpload(upload.key, uploadId: upload.uploadId)
                    aborted += 1
                }
                let next = page.nextKeyMarker.map { (key: $0, uploadId: page.nextUploadIdMarker) }
                if let next, let markers, next == markers {
                    throw S3Error.invalidResponse(operation: "ListMultipartUploads", bucket: bucket, key: nil, detail: "the same markers twice")
                }
                markers = next
            } while markers != nil
            return aborted
        }
    }

    private func listPage(prefix: String, delimiter: String?, token: String?) async throws -> S3Responses.ObjectsPage {
        var request = S3Request(.list, "ListObjectsV2", .GET, bucket: bucket, key: nil)
        request.query = [QueryItem("list-type", "2"), QueryItem("encoding-type", "url"), QueryItem("prefix", prefix),
                         QueryItem("max-keys", String(configuration.tuning.listPageSize))]
        if let delimiter { request.query.append(QueryItem("delimiter", delimiter)) }
        if let token { request.query.append(QueryItem("continuation-token", token)) }
        let response = try await transport.send(request)
        guard let page = response.xml.flatMap(S3Responses.objectsPage) else {
            throw S3Error.invalidResponse(operation: "ListObjectsV2", bucket: bucket, key: nil, detail: "not a ListBucketResult")
        }
        return page
    }

    private func uploadsPage(prefix: String, markers: (key: String, uploadId: String?)?) async throws -> S3Responses.UploadsPage {
        var request = S3Request(.multipartControl, "ListMultipartUploads", .GET, bucket: bucket, key: nil)
        request.query = [QueryItem("uploads"), QueryItem("prefix", prefix)]
        if let markers {
            request.query.append(QueryItem("key-marker", markers.key))
            if let id = markers.uploadId { request.query.append(QueryItem("upload-id-marker", id)) }
        }
        let response = try await transport.send(request)
        guard let page = response.xml.flatMap(S3Responses.uploadsPage) else {
            throw S3Error.invalidResponse(operation: "ListMultipartUploads", bucket: bucket, key: nil, detail: "not a ListMultipartUploadsResult")
        }
        return page
    }
}
