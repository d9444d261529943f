import Foundation

extension S3Client {
    /// Copies the object at `source` to `key` in the same bucket, on the server (CopyObject:
    /// a PUT with `x-amz-copy-source`; no byte passes through this machine). The user metadata
    /// is copied with it. An existing object at `key` is replaced. Objects up to 5 GB (S3's
    /// limit for one CopyObject). Fails with `notFound` when `source` does not exist.
    package func copy(from source: String, to key: String) async throws(S3Error) {
        try Self.validateKey(source, bucket: bucket, operation: "COPY")
        try await run("COPY", key: key) {
            var request = S3Request(.copy, "CopyObject from \(source)", .PUT, bucket: self.bucket, key: key)
            request.headers = [(name: "x-amz-copy-source", value: "/" + self.bucket + URIEncoding.keyPath(source)),
                               (name: "x-amz-metadata-directive", value: "COPY")]
            let bucket = self.bucket
            try await self.transport.send(request) { response in
                let xml = MiniXML.parse(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                // Like CompleteMultipartUpload, CopyObject may answer 200 and report an error in the body.
                if let answer = S3Responses.errorBody(xml) { throw S3ErrorAnswer(status: 200, body: answer) }
                guard xml?.name == "CopyObjectResult" else {
                    throw S3Error.invalidResponse(operation: "CopyObject", bucket: bucket, key: key, detail: "no CopyObjectResult in the answer (its root is \(xml?.name ?? "not XML"))")
                }
            }
        }
    }
}
