import Crypto
import Foundation
import NIOCore

/// A response body that ended before the bytes it announced: worth another attempt.
struct ShortBody: Error, CustomStringConvertible {
    let expected: UInt64
    let received: UInt64
    var description: String { "the answer ended after \(received) of \(expected) bytes" }
}

extension S3Client {
    /// Downloads the object into `path` by ranged GETs of `tuning.partSize`, up to
    /// `tuning.maxConcurrentParts` at once, each written at its offset. Every range must come
    /// from the same version of the object (If-Match on its ETag); the total size is checked and,
    /// when the object carries a whole-object SHA-256, so is the content. The file appears at
    /// `path` (atomically, durably) only when all of it was written and checked.
    package func download(key: String, toFile path: String) async throws(S3Error) -> S3DownloadResult {
        try await run("GET", key: key) { try await self.downloadObject(key, to: path) }
    }

    func downloadObject(_ key: String, to path: String) async throws -> S3DownloadResult {
        guard let info = try await headObject(key) else {
            throw S3Error.notFound(S3ServiceFailure(operation: "GET", bucket: bucket, key: key, status: 404, code: "NoSuchKey", message: nil, requestId: nil, attempts: 1))
        }
        let temp = path + ".part-\(UInt32.random(in: 0...UInt32.max))"
        let file = try LocalFile.create(temp)
        do {
            let result = try await fill(file, from: info)
            try file.sync()
            file.close()
            try LocalFiles.commit(temp, to: path)
            return result
        } catch {
            file.close()
            LocalFiles.remove(temp)
            throw error
        }
    }

    private func fill(_ file: LocalFile, from info: S3ObjectInfo) async throws -> S3DownloadResult {
        let partSize = UInt64(max(configuration.tuning.partSize, 1))
        let count = Int((info.size + partSize - 1) / partSize)
        _ = try await boundedMap(count: count, maxInFlight: configuration.tuning.maxConcurrentParts, prepare: { $0 }, work: { index in
            let lower = UInt64(index) * partSize
            try await self.fetch(info, range: lower..<min(lower + partSize, info.size), into: file)
        })
        let written = try file.size()
        guard written == info.size else {
            throw S3Error.integrity(bucket: bucket, key: info.key, detail: "the download has \(written) bytes where the object has \(info.size)")
        }
        let verified = try verifyChecksum(file, info: info)
        return S3DownloadResult(size: info.size, etag: info.etag, ranges: count, checksumVerified: verified)
    }

    /// One range, written at its offset as it arrives.
    private func fetch(_ info: S3ObjectInfo, range: Range<UInt64>, into file: LocalFile) async throws {
        var request = S3Request(.get, "GET", .GET, bucket: bucket, key: info.key)
        request.headers = [(name: "range", value: "bytes=\(range.lowerBound)-\(range.upperBound - 1)")]
        if !info.etag.isEmpty { request.headers.append((name: "if-match", value: info.etag)) }
        let (bucket, whole) = (self.bucket, range.count == Int(clamping: info.size))
        do {
            try await transport.send(request) { response in
                guard response.status == .partialContent || (response.status == .ok && whole) else {
                    throw S3Error.invalidResponse(operation: "GET", bucket: bucket, key: info.key, detail: "HTTP \(response.status.code) to a ranged GET (Range ignored)")
                }
                var received: UInt64 = 0
                for try await chunk in response.body {
                    guard received + UInt64(chunk.readableBytes) <= UInt64(range.count) else {
                        throw S3Error.integrity(bucket: bucket, key: info.key, detail: "the range at \(range.lowerBound) brought more than its \(range.count) bytes")
                    }
                    try file.write(chunk, at: range.lowerBound + received)
                    received += UInt64(chunk.readableBytes)
                }
                guard received == UInt64(range.count) else { throw ShortBody(expected: UInt64(range.count), received: received) }
            }
        } catch let error as S3Error where error.serviceFailure?.status == 412 {
            throw S3Error.integrity(bucket: bucket, key: info.key, detail: "the object changed during the download (its ETag is no longer \(info.etag)); download it again")
        }
    }

    /// Compares the file with the object's whole-object SHA-256, when it has one. A multipart
    /// object (its ETag ends with -N) has a checksum of its parts' checksums, which cannot be
    /// checked without their boundaries.
    private func verifyChecksum(_ file: LocalFile, info: S3ObjectInfo) throws -> Bool {
        guard let expected = info.checksumSHA256, !expected.contains("-"), !info.isMultipart else { return false }
        var hasher = SHA256()
        let chunk = UInt64(max(configuration.tuning.partSize, 1 << 20))
        var offset: UInt64 = 0
        while offset < info.size {
            let buffer = try file.read(offset: offset, count: Int(min(chunk, info.size - offset)))
            buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset += UInt64(buffer.readableBytes)
        }
        let actual = Digests.base64(hasher.finalize())
        guard actual == expected else {
            throw S3Error.integrity(bucket: bucket, key: info.key, detail: "the downloaded content has SHA-256 \(actual) where the object's is \(expected)")
        }
        return true
    }
}
