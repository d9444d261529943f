import Crypto
import Foundation
import NIOCore
import Synchronization

extension S3Client {
    /// Uploads the file at `path`: in one PUT up to `tuning.multipartThreshold` bytes, else by
    /// multipart upload with up to `tuning.maxConcurrentParts` parts of `tuning.partSize` in
    /// flight (aborted on any failure); either way only once `uploadBudget` has room for the
    /// bytes read. Each payload's SHA-256 is signed and sent as
    /// `x-amz-checksum-sha256` for the service to verify. With `ifNoneMatch`, an existing
    /// object is never replaced: the upload fails with `alreadyExists`. `metadata` is stored
    /// with the object as user metadata (`x-amz-meta-NAME`, signed; see `metadataHeaders`).
    package func put(key: String, fileAt path: String, ifNoneMatch: Bool = false, metadata: [String: String] = [:]) async throws(S3Error) -> S3PutResult {
        let userMetadata = try Self.metadataHeaders(metadata, bucket: bucket, key: key)
        return try await run("PUT", key: key) {
            let file = try LocalFile.openForReading(path)
            defer { file.close() }
            let size = try file.size()
            if size <= UInt64(configuration.tuning.multipartThreshold) {
                let held = try await uploadBudget.acquire(Int(size))
                defer { uploadBudget.release(held) }
                return try await putSingle(key, try file.read(offset: 0, count: Int(size)), ifNoneMatch: ifNoneMatch, metadata: userMetadata)
            }
            return try await putMultipart(key, file: file, size: size, ifNoneMatch: ifNoneMatch, metadata: userMetadata)
        }
    }

    /// One PUT of `body`, its SHA-256 signed and sent as checksum.
    func putSingle(_ key: String, _ body: ByteBuffer, ifNoneMatch: Bool, metadata: [(name: String, value: String)] = []) async throws -> S3PutResult {
        let digest = PayloadDigest(of: body)
        var request = S3Request(.put, "PUT", .PUT, bucket: bucket, key: key)
        request.setBody(body, hash: digest.hex)
        request.headers = Self.checksumHeaders(digest) + metadata + (ifNoneMatch ? [(name: "if-none-match", value: "*")] : [])
        let response: S3Response
        do {
            response = try await transport.send(request)
        } catch let error as S3Error where error.serviceFailure?.status == 412 {
            // A retried PUT may find the object its own lost first attempt wrote.
            guard let failure = error.serviceFailure, failure.attempts > 1, let mine = try await ownObject(key, checksum: digest.base64) else {
                throw S3Error.alreadyExists(bucket: bucket, key: key)
            }
            return S3PutResult(key: key, size: mine.size, etag: mine.etag, checksumSHA256: mine.checksumSHA256, sha256: digest.hex, parts: 1)
        }
        let confirmed = try checkEcho(response.header("x-amz-checksum-sha256"), expected: digest.base64, key: key, what: "object")
        return S3PutResult(key: key, size: UInt64(body.readableBytes), etag: response.header("etag") ?? "", checksumSHA256: confirmed, sha256: digest.hex, parts: 1)
    }

    /// The object at `key` when its stored checksum is `checksum` (it is the one we sent).
    func ownObject(_ key: String, checksum: String) async throws -> S3ObjectInfo? {
        guard let info = try await headObject(key), info.checksumSHA256 == checksum else { return nil }
        return info
    }

    /// The checksum the service echoed, checked against the one sent (nil when it sent none).
    func checkEcho(_ echoed: String?, expected: String, key: String, what: String) throws -> String? {
        guard let echoed else { return nil }
        guard echoed == expected else {
            throw S3Error.integrity(bucket: bucket, key: key, detail: "the service confirmed the \(what) with SHA-256 \(echoed), not the \(expected) sent")
        }
        return echoed
    }

    static func checksumHeaders(_ digest: PayloadDigest) -> [(name: String, value: String)] {
        [(name: "x-amz-checksum-sha256", value: digest.base64), (name: "x-amz-sdk-checksum-algorithm", value: "SHA256")]
    }

    /// The `x-amz-meta-NAME` headers of `metadata`, sorted by name. Names are lowercase
    /// letters, digits and '-' (S3 lowercases them anyway); values are printable ASCII, so
    /// they travel unchanged in a header and are signed like any other.
    static func metadataHeaders(_ metadata: [String: String], bucket: String, key: String) throws(S3Error) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
                throw .invalidMetadata(bucket: bucket, key: key, problem: "the name '\(name)' is not made of lowercase letters, digits and '-'")
            }
            guard value.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
                throw .invalidMetadata(bucket: bucket, key: key, problem: "the value of '\(name)' is not printable ASCII")
            }
            headers.append((name: "x-amz-meta-" + name, value: value))
        }
        return headers
    }
}

extension S3Client {
    func putMultipart(_ key: String, file: LocalFile, size: UInt64, ifNoneMatch: Bool, metadata: [(name: String, value: String)]) async throws -> S3PutResult {
        // Fails fast before sending anything; the conditional completion below is what guarantees it.
        if ifNoneMatch, try await headObject(key) != nil { throw S3Error.alreadyExists(bucket: bucket, key: key) }
        let uploadId = try await createMultipartUpload(key, metadata: metadata)
        do {
            let (parts, whole) = try await uploadParts(key, uploadId: uploadId, file: file, size: size)
            let composite = PayloadDigest.composite(parts.map(\.checksum))
            let completion = try await completeMultipartUpload(key, uploadId: uploadId, parts: parts, ifNoneMatch: ifNoneMatch, composite: composite)
            let confirmed = try checkEcho(completion.checksumSHA256.map(Self.qualifiedComposite(parts.count)), expected: composite, key: key, what: "multipart object")
            return S3PutResult(key: key, size: size, etag: completion.etag, checksumSHA256: confirmed, sha256: whole.hex, parts: parts.count)
        } catch {
            await abandon(key, uploadId: uploadId)
            throw error
        }
    }

    /// S3 reports a composite checksum with or without its `-N` suffix depending on the call.
    static func qualifiedComposite(_ count: Int) -> (String) -> String {
        { $0.contains("-") ? $0 : "\($0)-\(count)" }
    }

    /// Starts a multipart upload; the object's user metadata is given here, not at completion.
    func createMultipartUpload(_ key: String, metadata: [(name: String, value: String)] = []) async throws -> String {
        var request = S3Request(.multipartControl, "CreateMultipartUpload", .POST, bucket: bucket, key: key)
        request.query = [QueryItem("uploads")]
        request.headers = [(name: "x-amz-checksum-algorithm", value: "SHA256")] + metadata
        let response = try await transport.send(request)
        guard let id = response.xml.flatMap(S3Responses.uploadId) else {
            throw S3Error.invalidResponse(operation: "CreateMultipartUpload", bucket: bucket, key: key, detail: "no UploadId in the answer")
        }
        return id
    }

    /// Reads the parts in order (hashing the whole file on the way), each once `uploadBudget`
    /// has room for it, and sends them in parallel; a part gives its room back once its
    /// request is over and its bytes are freed.
    func uploadParts(_ key: String, uploadId: String, file: LocalFile, size: UInt64) async throws -> ([UploadedPart], PayloadDigest) {
        // S3 wants parts of at least 5 MiB (the last excepted) and at most 10,000 of them.
        let partSize = max(UInt64(max(configuration.tuning.partSize, 5 << 20)), (size + 9_999) / 10_000)
        let count = Int((size + partSize - 1) / partSize)
        var whole = SHA256()
        let budget = uploadBudget
        let parts = try await boundedMap(count: count, maxInFlight: configuration.tuning.maxConcurrentParts, prepare: { index in
            let offset = UInt64(index) * partSize
            let length = Int(min(partSize, size - offset))
            let held = try await budget.acquire(length)
            do {
                let buffer = try file.read(offset: offset, count: length)
                buffer.withUnsafeReadableBytes { whole.update(bufferPointer: $0) }
                return PendingPart(number: index + 1, buffer: buffer, held: held)
            } catch {
                budget.release(held)
                throw error
            }
        }, work: { part in
            defer { budget.release(part.held) }
            return try await self.uploadPart(key, uploadId: uploadId, number: part.number, body: part.take())
        })
        return (parts, PayloadDigest(whole.finalize()))
    }

    /// A part read and waiting to be sent. The task that sends it takes the bytes out, so they
    /// are freed when its request is over: a finished task is kept (with what it captured)
    /// until `boundedMap` collects it, and its bytes must not outlive the room they held.
    final class PendingPart: Sendable {
        let number: Int
        let held: Int
        private let buffer: Mutex<ByteBuffer?>

        init(number: Int, buffer: ByteBuffer, held: Int) {
            self.number = number
            self.held = held
            self.buffer = Mutex(buffer)
        }

        func take() -> ByteBuffer { buffer.withLock { b in defer { b = nil }; return b ?? ByteBuffer() } }
    }

    func uploadPart(_ key: String, uploadId: String, number: Int, body: ByteBuffer) async throws -> UploadedPart {
        let digest = PayloadDigest(of: body)
        var request = S3Request(.multipartPart, "UploadPart \(number)", .PUT, bucket: bucket, key: key)
        request.query = [QueryItem("partNumber", String(number)), QueryItem("uploadId", uploadId)]
        request.setBody(body, hash: digest.hex)
        request.headers = Self.checksumHeaders(digest)
        let response = try await transport.send(request)
        _ = try checkEcho(response.header("x-amz-checksum-sha256"), expected: digest.base64, key: key, what: "part \(number)")
        guard let etag = response.header("etag") else {
            throw S3Error.invalidResponse(operation: "UploadPart \(number)", bucket: bucket, key: key, detail: "no ETag in the answer")
        }
        return UploadedPart(number: number, etag: etag, checksum: digest, size: body.readableBytes)
    }

    func completeMultipartUpload(_ key: String, uploadId: String, parts: [UploadedPart], ifNoneMatch: Bool, composite: String) async throws -> S3Responses.Completion {
        let body = S3Responses.completeRequestBody(parts)
        var request = S3Request(.multipartControl, "CompleteMultipartUpload", .POST, bucket: bucket, key: key)
        request.query = [QueryItem("uploadId", uploadId)]
        request.setBody(ByteBuffer(string: body), hash: Digests.sha256Hex(body))
        request.headers = [(name: "content-type", value: "application/xml")] + (ifNoneMatch ? [(name: "if-none-match", value: "*")] : [])
        let bucket = self.bucket
        do {
            return try await transport.send(request) { response in
                let xml = MiniXML.parse(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                // S3 may answer 200 and still report an error in the body: retried or thrown like any error answer.
                if let answer = S3Responses.errorBody(xml) { throw S3ErrorAnswer(status: 200, body: answer) }
                guard let completion = xml.flatMap(S3Responses.completion) else {
                    throw S3Error.invalidResponse(operation: "CompleteMultipartUpload", bucket: bucket, key: key, detail: "no CompleteMultipartUploadResult in the answer (its root is \(xml?.name ?? "not XML"))")
                }
                return completion
            }
        } catch let error as S3Error where error.serviceFailure?.status == 412 {
            guard let failure = error.serviceFailure, failure.attempts > 1, let mine = try await ownObject(key, checksum: composite) else {
                throw S3Error.alreadyExists(bucket: bucket, key: key)
            }
            return S3Responses.Completion(etag: mine.etag, checksumSHA256: mine.checksumSHA256)
        }
    }

    /// Aborts the upload whatever happens to the calling task (even when it was cancelled).
    func abandon(_ key: String, uploadId: String) async {
        let abort = Task { try await self.abortMultipartUpload(key, uploadId: uploadId) }
        do {
            try await abort.value
        } catch {
            transport.logger.warning("could not abort the multipart upload \(uploadId) of s3://\(bucket)/\(key): \(error)")
        }
    }

    func abortMultipartUpload(_ key: String, uploadId: String) async throws {
        var request = S3Request(.multipartControl, "AbortMultipartUpload", .DELETE, bucket: bucket, key: key)
        request.query = [QueryItem("uploadId", uploadId)]
        request.accepted = [404]
        _ = try await transport.send(request)
    }
}
