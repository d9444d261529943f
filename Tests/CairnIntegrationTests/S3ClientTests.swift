@testable import CairnObjectStore
import CairnTestSupport
import Crypto
import Foundation
import Testing

/// The S3 client against a real S3 API (moto_server on loopback, checking every signature),
/// with a fault-injecting proxy in front of it where failures are wanted.
@Suite(.serialized) struct S3ClientTests {
    static let bucket = "cairn-test"

    /// A quick-retrying configuration for `endpoint`.
    static func configuration(_ endpoint: String, _ credentials: S3Credentials, _ change: (inout S3Tuning) -> Void = { _ in }) throws -> S3Configuration {
        var tuning = S3Tuning()
        tuning.baseBackoff = .milliseconds(5)
        tuning.maxBackoff = .milliseconds(50)
        change(&tuning)
        return S3Configuration(endpoint: try S3Endpoint(parsing: endpoint), region: "us-east-1", credentials: credentials, tuning: tuning)
    }

    /// A fresh server with the bucket created, and a client for it; both closed at the end.
    static func withBucket(checkingSignatures: Bool = true, listPageSize: Int = 1000, _ body: (S3Client, S3TestServer) async throws -> Void) async throws {
        let server = try await S3TestServer.start(checkingSignatures: checkingSignatures)
        defer { server.stop() }
        let client = try S3Client(bucket: bucket, configuration: try configuration(server.endpoint, server.credentials) { $0.listPageSize = listPageSize }, logger: quietLogger)
        do {
            try await client.createBucket()
            try await body(client, server)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Runs `body` with another client (other endpoint or credentials), closed at the end.
    static func withClient(_ configuration: S3Configuration, _ body: (S3Client) async throws -> Void) async throws {
        let client = try S3Client(bucket: bucket, configuration: configuration, logger: quietLogger)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Deterministic bytes that differ at every offset of a part.
    static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed &* 6_364_136_223_846_793_005 &+ 1
        return (0..<count).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 33)
        }
    }

    static func base64SHA256(_ bytes: [UInt8]) -> String { Data(SHA256.hash(data: bytes)).base64EncodedString() }

    @Test func smallObjectsRoundTrip() async throws {
        try await Self.withBucket { client, _ in
            let bytes = Self.pattern(100_000, seed: 1)
            let put = try await client.put(key: "repo/a/one", bytes: bytes)
            #expect(put.size == 100_000 && put.parts == 1 && !put.etag.isEmpty)
            #expect(put.checksumSHA256 == Self.base64SHA256(bytes))
            let info = try #require(try await client.head(key: "repo/a/one"))
            #expect(info.size == 100_000 && info.etag == put.etag && info.checksumSHA256 == Self.base64SHA256(bytes) && info.lastModified != nil)
            #expect(try await client.get(key: "repo/a/one") == bytes)
            #expect(try await client.get(key: "repo/a/one", range: 1000..<1010) == Array(bytes[1000..<1010]))
            _ = try await client.put(key: "repo/a/two", bytes: [])
            #expect(try await client.get(key: "repo/a/two") == [])
            // No '+' in keys: moto checks the signature against the path with %2B decoded (boto3 fails the same way).
            for name in ["repo/b/x y", "repo/b/z~w", "repo/top", "other/q"] { _ = try await client.put(key: name, bytes: Array(name.utf8)) }
            #expect(try await client.get(key: "repo/b/x y") == Array("repo/b/x y".utf8))

            // Under signature checks, no '/' in the listing's query (see S3TestServer); keys may have one.
            let all = try await client.list(prefix: "repo")
            #expect(all.objects.map(\.key) == ["repo/a/one", "repo/a/two", "repo/b/x y", "repo/b/z~w", "repo/top"])
            #expect(all.objects.first?.size == 100_000 && all.commonPrefixes.isEmpty)

            try await client.delete(key: "repo/a/one")
            try await client.delete(key: "repo/a/one")  // already gone: no error
            #expect(try await client.head(key: "repo/a/one") == nil)
            await #expect(throws: S3Error.self) { _ = try await client.get(key: "repo/a/one") }
            do throws(S3Error) {
                _ = try await client.get(key: "repo/a/one")
            } catch {
                guard case .notFound(let failure) = error else { throw error }
                #expect(failure.status == 404 && failure.code == "NoSuchKey" && error.description.contains("s3://cairn-test/repo/a/one"))
            }
            let counts = client.requestCounts
            #expect(counts.puts == 6 && counts.heads == 2 && counts.deletes == 2 && counts.lists == 1 && counts.gets == 6 && counts.bucketRequests == 1 && counts.retries == 0, "\(counts)")
        }
    }

    /// Prefixes and delimiters with '/', which moto's signature check cannot verify: on a server without it.
    @Test func listingGroupsByDelimiterAndFollowsContinuationTokens() async throws {
        try await Self.withBucket(checkingSignatures: false, listPageSize: 2) { client, _ in
            let keys = (0..<5).map { "repo/logs/\($0)" } + ["repo/a/x y", "repo/b/1", "repo/top", "other/q"]
            for key in keys { _ = try await client.put(key: key, bytes: Array(key.utf8)) }
            #expect(try await client.list(prefix: "repo/logs/").objects.map(\.key) == (0..<5).map { "repo/logs/\($0)" })
            #expect(client.requestCounts.lists == 3)
            let grouped = try await client.list(prefix: "repo/", delimiter: "/")
            #expect(grouped.objects.map(\.key) == ["repo/top"] && grouped.commonPrefixes == ["repo/a/", "repo/b/", "repo/logs/"])
            #expect(try await client.list().objects.count == keys.count)
            #expect(try await client.list(prefix: "nothing/").objects.isEmpty)
        }
    }

    @Test func largeFilesGoByMultipartUploadAndRangedDownload() async throws {
        try await Self.withBucket { client, _ in
            let dir = TempDir()
            let bytes = Self.pattern(40 << 20 | 12_345, seed: 7)
            _ = FileManager.default.createFile(atPath: dir.file("big"), contents: Data(bytes))
            let put = try await client.put(key: "big/object", fileAt: dir.file("big"))
            #expect(put.size == UInt64(bytes.count) && put.parts == 6)
            #expect(put.sha256 == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
            #expect(client.requestCounts.multipartParts == 6 && client.requestCounts.multipartControl == 2)

            let got = try await client.download(key: "big/object", toFile: dir.file("back"))
            #expect(got.size == UInt64(bytes.count) && got.ranges == 6)
            #expect(FileManager.default.contents(atPath: dir.file("back")) == Data(bytes))
            #expect(!FileManager.default.fileExists(atPath: dir.file("missing")))
            await #expect(throws: S3Error.self) { _ = try await client.download(key: "big/none", toFile: dir.file("missing")) }
            #expect(!FileManager.default.fileExists(atPath: dir.file("missing")))

            // Below the threshold: one PUT, and the download checks the stored SHA-256.
            let small = Self.pattern(3 << 20, seed: 8)
            _ = FileManager.default.createFile(atPath: dir.file("small"), contents: Data(small))
            let single = try await client.put(key: "small/object", fileAt: dir.file("small"))
            #expect(single.parts == 1 && single.checksumSHA256 == Self.base64SHA256(small))
            let verified = try await client.download(key: "small/object", toFile: dir.file("small-back"))
            #expect(verified.checksumVerified && FileManager.default.contents(atPath: dir.file("small-back")) == Data(small))
        }
    }

    /// Files uploaded side by side share the client's bound on buffered parts (here two parts'
    /// worth for three multipart files and a single PUT): all arrive whole, and the room is all
    /// given back.
    @Test func concurrentUploadsShareTheBufferBound() async throws {
        try await Self.withBucket { _, server in
            let configuration = try Self.configuration(server.endpoint, server.credentials) {
                $0.partSize = 5 << 20
                $0.multipartThreshold = 5 << 20
                $0.maxBufferedUploadBytes = 10 << 20
            }
            try await Self.withClient(configuration) { client in
                let dir = TempDir()
                let sizes = [12 << 20 | 77, 11 << 20, 13 << 20 | 5, 3 << 20]
                for (i, size) in sizes.enumerated() {
                    _ = FileManager.default.createFile(atPath: dir.file("f\(i)"), contents: Data(Self.pattern(size, seed: UInt64(20 + i))))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in sizes.indices {
                        let path = dir.file("f\(i)")
                        group.addTask { _ = try await client.put(key: "shared/f\(i)", fileAt: path) }
                    }
                    try await group.waitForAll()
                }
                #expect(client.uploadBudget.available == 10 << 20 && client.uploadBudget.waiting == 0)
                for i in sizes.indices {
                    _ = try await client.download(key: "shared/f\(i)", toFile: dir.file("back\(i)"))
                    #expect(FileManager.default.contents(atPath: dir.file("back\(i)")) == FileManager.default.contents(atPath: dir.file("f\(i)")))
                }
            }
        }
    }

    @Test func conditionalWritesNeverReplaceAnotherWritersObject() async throws {
        try await Self.withBucket { client, _ in
            _ = try await client.put(key: "logs/0001", bytes: [1, 2, 3], ifNoneMatch: true)
            do throws(S3Error) {
                _ = try await client.put(key: "logs/0001", bytes: [9, 9], ifNoneMatch: true)
                Issue.record("a second conditional write replaced the object")
            } catch {
                #expect(error == .alreadyExists(bucket: Self.bucket, key: "logs/0001"))
                #expect(error.description.contains("s3://cairn-test/logs/0001") && error.description.contains("412"))
            }
            #expect(try await client.get(key: "logs/0001") == [1, 2, 3])
            let dir = TempDir()
            _ = FileManager.default.createFile(atPath: dir.file("big"), contents: Data(Self.pattern(20 << 20, seed: 3)))
            await #expect(throws: S3Error.alreadyExists(bucket: Self.bucket, key: "logs/0001")) {
                _ = try await client.put(key: "logs/0001", fileAt: dir.file("big"), ifNoneMatch: true)
            }
            // Without the condition the object is replaced, as S3 does.
            _ = try await client.put(key: "logs/0001", bytes: [4], ifNoneMatch: false)
            #expect(try await client.get(key: "logs/0001") == [4])
        }
    }

    @Test func userMetadataIsSignedStoredAndCopiedServerSide() async throws {
        try await Self.withBucket { client, _ in
            let bytes = Self.pattern(5000, seed: 9)
            _ = try await client.put(key: "m/one", bytes: bytes, ifNoneMatch: true, metadata: ["cairn-xxh3": "00112233aabbccdd", "x": "y z"])
            let info = try #require(try await client.head(key: "m/one"))
            #expect(info.metadata == ["cairn-xxh3": "00112233aabbccdd", "x": "y z"])
            // Multipart uploads carry it too (given when the upload starts).
            let dir = TempDir()
            _ = FileManager.default.createFile(atPath: dir.file("big"), contents: Data(Self.pattern(20 << 20, seed: 4)))
            _ = try await client.put(key: "m/big", fileAt: dir.file("big"), metadata: ["cairn-xxh3": "ffff"])
            #expect(try await client.head(key: "m/big")?.metadata["cairn-xxh3"] == "ffff")
            await #expect(throws: S3Error.self) { _ = try await client.put(key: "m/bad", bytes: [1], metadata: ["Upper": "v"]) }
            await #expect(throws: S3Error.self) { _ = try await client.put(key: "m/bad", bytes: [1], metadata: ["ok": "line\nbreak"]) }
            #expect(try await client.head(key: "m/bad") == nil)

            try await client.copy(from: "m/one", to: "m/.aside/one")
            let copy = try #require(try await client.head(key: "m/.aside/one"))
            #expect(copy.size == 5000 && copy.metadata["cairn-xxh3"] == "00112233aabbccdd")
            #expect(try await client.get(key: "m/.aside/one") == bytes)
            #expect(client.requestCounts.copies == 1)
            do throws(S3Error) {
                try await client.copy(from: "m/none", to: "m/other")
                Issue.record("a copy of a missing object succeeded")
            } catch {
                guard case .notFound = error else { Issue.record("copying a missing object: \(error)"); return }
            }
        }
    }

    @Test func wrongCredentialsAreRefusedWithoutRetryOrLeak() async throws {
        try await Self.withBucket { client, server in
            _ = try await client.put(key: "k", bytes: [1])
            let wrongSecret = S3Credentials(accessKeyId: server.credentials.accessKeyId, secretAccessKey: "WRONGSECRETVALUE1234")
            try await Self.withClient(try Self.configuration(server.endpoint, wrongSecret)) { bad in
                do throws(S3Error) {
                    _ = try await bad.get(key: "k")
                    Issue.record("moto accepted a request signed with a wrong secret")
                } catch {
                    guard case .accessDenied(let failure) = error else { throw error }
                    #expect(failure.status == 403 && failure.code == "SignatureDoesNotMatch" && failure.attempts == 1)
                    #expect(error.description.contains("AWS_SECRET_ACCESS_KEY") && !error.description.contains("WRONGSECRETVALUE1234"))
                }
                #expect(bad.requestCounts.retries == 0)
            }
            let unknownKey = S3Credentials(accessKeyId: "AKIANOTAKEYATALL000", secretAccessKey: server.credentials.secretAccessKey)
            try await Self.withClient(try Self.configuration(server.endpoint, unknownKey)) { bad in
                do throws(S3Error) {
                    _ = try await bad.put(key: "k2", bytes: [1])
                    Issue.record("moto accepted an unknown access key")
                } catch {
                    #expect(error.serviceFailure?.code == "InvalidAccessKeyId" && error.description.contains("AWS_ACCESS_KEY_ID"))
                    #expect(!error.description.contains(server.credentials.secretAccessKey))
                }
            }
        }
    }

    @Test func transientFailuresAreRetriedThenReported() async throws {
        try await Self.withBucket { _, server in
            // Throttling, a dropped connection and a 500, then the real server.
            let faults: [FaultProxy.Reply] = [.error(status: 503, code: "SlowDown"), .drop, .error(status: 500, code: "InternalError")]
            let flaky = try FaultProxy(forwardingTo: server.port) { _, index in index < faults.count ? faults[index] : .forward }
            defer { flaky.stop() }
            try await Self.withClient(try Self.configuration(flaky.endpoint, server.credentials)) { client in
                let put = try await client.put(key: "retried", bytes: [7, 7, 7])
                #expect(put.size == 3 && client.requestCounts.retries == 3 && client.requestCounts.puts == 4 && flaky.requests == 4)
                #expect(try await client.get(key: "retried") == [7, 7, 7])
            }
            // A server failing every time: bounded attempts, then the last answer.
            let broken = try FaultProxy(forwardingTo: server.port) { _, _ in .error(status: 500, code: "InternalError") }
            defer { broken.stop() }
            try await Self.withClient(try Self.configuration(broken.endpoint, server.credentials) { $0.maxAttempts = 3 }) { client in
                do throws(S3Error) {
                    _ = try await client.head(key: "retried")
                    Issue.record("a failing server was reported as success")
                } catch {
                    #expect(error.serviceFailure?.status == 500 && error.serviceFailure?.attempts == 3 && error.description.contains("3 attempts"))
                }
                #expect(broken.requests == 3 && client.requestCounts.retries == 2)
            }
            // A 4xx other than the transient ones is never retried.
            let refusing = try FaultProxy(forwardingTo: server.port) { _, _ in .error(status: 400, code: "InvalidArgument") }
            defer { refusing.stop() }
            try await Self.withClient(try Self.configuration(refusing.endpoint, server.credentials)) { client in
                await #expect(throws: S3Error.self) { _ = try await client.get(key: "retried") }
                #expect(refusing.requests == 1 && client.requestCounts.retries == 0)
            }
        }
    }

    @Test func unreachableOrSilentEndpointsFailClearly() async throws {
        let credentials = S3Credentials(accessKeyId: "AKIAUNUSED", secretAccessKey: "unused")
        let closed = try #require(TCPProbe.freePort())
        // AHC itself keeps reconnecting until the connect timeout: a short one keeps this quick.
        let quick: (inout S3Tuning) -> Void = { $0.maxAttempts = 3; $0.connectTimeout = .milliseconds(300) }
        try await Self.withClient(try Self.configuration("http://127.0.0.1:\(closed)", credentials, quick)) { client in
            do throws(S3Error) {
                _ = try await client.get(key: "x")
                Issue.record("a closed port answered")
            } catch {
                guard case .unreachable(_, _, _, _, let attempts, _) = error else { throw error }
                #expect(attempts == 3 && error.description.contains("127.0.0.1:\(closed)") && error.description.contains("reachable"))
            }
            #expect(client.requestCounts.retries == 2)
        }
        let silent = try FaultProxy(forwardingTo: closed) { _, _ in .silence }
        defer { silent.stop() }
        try await Self.withClient(try Self.configuration(silent.endpoint, credentials) { $0.maxAttempts = 2; $0.requestTimeout = .milliseconds(300) }) { client in
            let started = ContinuousClock.now
            do throws(S3Error) {
                _ = try await client.head(key: "x")
                Issue.record("a silent server answered")
            } catch {
                guard case .unreachable(_, _, _, _, 2, let detail) = error else { throw error }
                #expect(detail.contains("within"))
            }
            #expect(ContinuousClock.now - started < .seconds(10) && silent.requests == 2)
        }

    }

    @Test func failedMultipartUploadsAreAbortedAndLeftoversCleaned() async throws {
        try await Self.withBucket { client, server in
            let dir = TempDir()
            _ = FileManager.default.createFile(atPath: dir.file("big"), contents: Data(Self.pattern(24 << 20, seed: 5)))
            // Part 2 is refused for good: the upload must be aborted, nothing left behind.
            let proxy = try FaultProxy(forwardingTo: server.port) { line, _ in line.contains("partNumber=2&") ? .error(status: 400, code: "InvalidPart") : .forward }
            defer { proxy.stop() }
            try await Self.withClient(try Self.configuration(proxy.endpoint, server.credentials)) { failing in
                await #expect(throws: S3Error.self) { _ = try await failing.put(key: "big/failed", fileAt: dir.file("big")) }
                // create, abort (an attempt timed out on a loaded machine is sent again and counted)
                let counts = failing.requestCounts
                #expect((2...2 + counts.retries).contains(counts.multipartControl))
            }
            #expect(try await client.head(key: "big/failed") == nil)
            #expect(try await client.abortIncompleteUploads(prefix: "big", olderThan: Date()) == 0)

            // Uploads left behind by a crashed writer (moto dates every upload 2010-11-10; no '/'
            // in the prefix under signature checks).
            _ = try await client.createMultipartUpload("left-one")
            _ = try await client.createMultipartUpload("left-two")
            _ = try await client.createMultipartUpload("elsewhere/three")
            #expect(try await client.abortIncompleteUploads(prefix: "left-", olderThan: Date(timeIntervalSince1970: 1_000_000_000)) == 0)
            #expect(try await client.abortIncompleteUploads(prefix: "left-", olderThan: Date()) == 2)
            #expect(try await client.abortIncompleteUploads(prefix: "", olderThan: Date()) == 1)
            #expect(try await client.abortIncompleteUploads(prefix: "", olderThan: Date()) == 0)
        }
    }
}
