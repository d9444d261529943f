@testable import CairnFormats
@testable import CairnCatalog
@testable import CairnEngines
@testable import CairnObjectStore
@testable import CairnCLI
import Cairn
import CairnTestSupport
import Foundation
import Testing

/// Archived logs in object storage (`--archive-dest s3://BUCKET/PREFIX`) against a real S3 API
/// (moto_server on loopback, checking every signature): `cairn` archives to the bucket and
/// restores from it, damaged objects are found and the other destination used, another
/// writer's object is never replaced, and deletion goes in two steps as with a directory.
@Suite(.serialized) struct S3ArchiveTests {
    static let bucket = "cairn-archive"

    /// The variables every `cairn` process needs to reach the server (and a private cache).
    static func environment(_ server: S3TestServer, cache: String) -> [String: String] {
        ["AWS_ENDPOINT_URL_S3": server.endpoint, "AWS_ACCESS_KEY_ID": server.credentials.accessKeyId,
         "AWS_SECRET_ACCESS_KEY": server.credentials.secretAccessKey, "AWS_REGION": "us-east-1", "CAIRN_S3_CACHE": cache]
    }

    /// A server with the bucket, a client for looking at it out of band, and the environment.
    static func withServer(checkingSignatures: Bool = true, _ body: (S3TestServer, S3Client, TempDir) async throws -> Void) async throws {
        let server = try await S3TestServer.start(checkingSignatures: checkingSignatures)
        defer { server.stop() }
        let configuration = S3Configuration(endpoint: try S3Endpoint(parsing: server.endpoint), region: "us-east-1", credentials: server.credentials)
        let client = try S3Client(bucket: bucket, configuration: configuration, logger: quietLogger)
        let dir = TempDir()
        do {
            try await client.createBucket()
            try await body(server, client, dir)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Runs synchronous destination calls on a thread of their own (they wait for the async
    /// client and must not block the cooperative pool the client's tasks run on).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
            Thread.detachNewThread { done.resume(with: Result { try body() }) }
        }
    }

    /// The error `body` throws, as an EngineError (nil, recorded, when it throws none).
    static func engineError(_ body: @escaping @Sendable () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> EngineError? {
        do {
            try await onThread(body)
            Issue.record("expected an error, none was thrown", sourceLocation: sourceLocation)
        } catch let error as EngineError {
            return error
        } catch {
            Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func xxh3(_ path: String) throws -> String { Hash.hex(try FileSystem.hashFile(path)) }

    // MARK: - The destination itself

    @Test func putVerifyAndLocalCopyKeepTheLogIntactAndNeverReplaceAnotherWriters() async throws {
        try await Self.withServer { server, client, dir in
            let env = Self.environment(server, cache: dir.file("cache"))
            let dest = S3ArchiveDestination(name: "s3://\(Self.bucket)/unit", environment: env, logger: quietLogger)
            let first = dir.file("first"), other = dir.file("other")
            try FileSystem.atomicWrite(Array(repeating: 7, count: 3000), to: first)
            try FileSystem.atomicWrite(Array(repeating: 8, count: 3000), to: other)
            let hash = try Self.xxh3(first)
            try await Self.onThread { try dest.put(localPath: first, as: "log-1") }
            let info = try #require(try await client.head(key: "unit/log-1"), "endpoint \(server.endpoint)")
            #expect(info.size == 3000 && info.metadata[S3ArchiveDestination.hashMetadata] == hash)
            // Again (a retry after a lost answer): the same log is there, fine.
            try await Self.onThread { try dest.put(localPath: first, as: "log-1") }
            // Another file under the same name: refused, the object is kept.
            let conflict = await Self.engineError { try dest.put(localPath: other, as: "log-1") }
            guard case let .objectStore(url, problem) = conflict else { Issue.record("\(String(describing: conflict))"); return }
            #expect(url == "s3://\(Self.bucket)/unit/log-1" && problem.contains("another writer's object") && problem.contains("never replaces"), "\(problem)")
            #expect(try await client.get(key: "unit/log-1") == Array(repeating: 7, count: 3000))

            try await Self.onThread { try dest.verify("log-1", bytes: 3000, xxh3: hash) }
            #expect(await Self.engineError { try dest.verify("log-1", bytes: 2999, xxh3: hash) } == .truncated(file: url, expected: 2999, actual: 3000))
            guard case .corrupt(url, nil, _)? = await Self.engineError({ try dest.verify("log-1", bytes: 3000, xxh3: "0123456789abcdef") }) else {
                Issue.record("a wrong XXH3 passed verify"); return
            }
            guard case .missingFile("s3://\(Self.bucket)/unit/log-9", _)? = await Self.engineError({ try dest.verify("log-9", bytes: 1, xxh3: hash) }) else {
                Issue.record("a missing object passed verify"); return
            }
            #expect(try await Self.onThread { (dest.exists("log-1"), dest.exists("log-9"), dest.size(of: "log-1")) } == (true, false, 3000))

            // A local copy in the private cache, downloaded once and then reused while it matches.
            let path = try await Self.onThread { try dest.localCopy(of: "log-1") }
            #expect(path.hasPrefix(dir.file("cache") + "/") && FileManager.default.contents(atPath: path) == Data(repeating: 7, count: 3000))
            let cacheMode = try FileManager.default.attributesOfItem(atPath: dir.file("cache"))[.posixPermissions] as? Int
            #expect(cacheMode == 0o700)
            // One client for the bucket and configuration, shared by the process (and never released: see S3ClientRegistry).
            let configuration = try dest.target.get().configuration
            let shared = try S3ClientRegistry.shared.client(bucket: Self.bucket, configuration: configuration)
            #expect(try S3ClientRegistry.shared.client(bucket: Self.bucket, configuration: configuration) === shared)
            let gets = shared.requestCounts.gets
            #expect(try await Self.onThread { try dest.localCopy(of: "log-1") } == path)
            #expect(shared.requestCounts.gets == gets, "the cached copy was downloaded again")
            guard case .missingFile? = await Self.engineError({ _ = try dest.localCopy(of: "log-9") }) else { Issue.record("copy of a missing log"); return }
        }
    }

    @Test func damagedObjectsAreFoundByVerifyAndLocalCopy() async throws {
        try await Self.withServer { server, client, dir in
            let env = Self.environment(server, cache: dir.file("cache"))
            let dest = S3ArchiveDestination(name: "s3://\(Self.bucket)/unit", environment: env, logger: quietLogger)
            let file = dir.file("log")
            try FileSystem.atomicWrite((0..<4096).map { UInt8(truncatingIfNeeded: $0) }, to: file)
            let hash = try Self.xxh3(file)
            try await Self.onThread { try dest.put(localPath: file, as: "log-2") }
            let cached = try await Self.onThread { try dest.localCopy(of: "log-2") }
            // Replaced out of band by other bytes of the same size, keeping the metadata: HEAD
            // cannot tell, the download's XXH3 does.
            let other = [UInt8](repeating: 1, count: 4096)
            _ = try await client.put(key: "unit/log-2", bytes: other, metadata: [S3ArchiveDestination.hashMetadata: hash])
            // The copy cached before still matches the XXH3 written with the log: it is the log, handed out as is.
            #expect(try await Self.onThread { try dest.localCopy(of: "log-2") } == cached)
            #expect(FileManager.default.contents(atPath: cached) == FileManager.default.contents(atPath: file))
            FileSystem.removeFile(cached)
            guard case .corrupt("s3://\(Self.bucket)/unit/log-2", nil, let detail)? = await Self.engineError({ _ = try dest.localCopy(of: "log-2") }) else {
                Issue.record("a replaced object was handed out (endpoint \(server.endpoint))"); return
            }
            #expect(detail.contains("changed"), "\(detail)")
            // Without the metadata (another tool wrote it), verify reads it through.
            _ = try await client.put(key: "unit/log-2", bytes: other)
            guard case .corrupt? = await Self.engineError({ try dest.verify("log-2", bytes: 4096, xxh3: hash) }) else {
                Issue.record("a replaced object passed verify"); return
            }
            // The right bytes without metadata (copied in by hand) pass.
            _ = try await client.put(key: "unit/log-2", fileAt: file)
            try await Self.onThread { try dest.verify("log-2", bytes: 4096, xxh3: hash) }
        }
    }

    @Test func retiredLogsAreCopiedAsideThenPurgedOrPutBack() async throws {
        try await Self.withServer { server, client, dir in
            let env = Self.environment(server, cache: dir.file("cache"))
            let dest = S3ArchiveDestination(name: "s3://\(Self.bucket)/logs", environment: env, logger: quietLogger)
            let file = dir.file("log")
            try FileSystem.atomicWrite(Array("a log".utf8), to: file)
            let hash = try Self.xxh3(file)
            for name in ["log-a", "log-b"] { try await Self.onThread { try dest.put(localPath: file, as: name) } }
            #expect(try await Self.onThread { try dest.retire("log-a") })
            #expect(try await client.head(key: "logs/log-a") == nil, "endpoint \(server.endpoint)")
            #expect(try await client.head(key: "logs/.deleting/log-a")?.metadata[S3ArchiveDestination.hashMetadata] == hash)
            #expect(try await Self.onThread { (dest.exists("log-a"), try dest.retire("log-a")) } == (false, false))
            // Not recorded: put back as it was.
            try await Self.onThread { dest.unretire("log-a") }
            #expect(try await client.head(key: "logs/.deleting/log-a") == nil)
            try await Self.onThread { try dest.verify("log-a", bytes: 5, xxh3: hash) }
            // Recorded: removed for good.
            #expect(try await Self.onThread { try dest.retire("log-a") })
            try await Self.onThread { dest.purgeRetired("log-a") }
            #expect(try await client.head(key: "logs/.deleting/log-a") == nil)
            #expect(try await client.head(key: "logs/log-a") == nil)
            #expect(try await client.get(key: "logs/log-b") == Array("a log".utf8))
        }
    }

    /// `purgeRetired(nil)` lists `PREFIX/.deleting/`: a listing prefix with '/', which moto's
    /// signature check refuses (see S3TestServer), so this server does not check signatures.
    @Test func purgingEveryRetiredCopyEmptiesTheRetiredFolderOnly() async throws {
        try await Self.withServer(checkingSignatures: false) { server, client, dir in
            let env = Self.environment(server, cache: dir.file("cache"))
            let dest = S3ArchiveDestination(name: "s3://\(Self.bucket)/logs", environment: env, logger: quietLogger)
            let file = dir.file("log")
            try FileSystem.atomicWrite(Array("x".utf8), to: file)
            for name in ["log-a", "log-b", "log-c"] { try await Self.onThread { try dest.put(localPath: file, as: name) } }
            for name in ["log-a", "log-b"] { #expect(try await Self.onThread { try dest.retire(name) }) }
            try await Self.onThread { dest.purgeRetired(nil) }
            #expect(try await client.list(prefix: "logs").objects.map(\.key) == ["logs/log-c"], "endpoint \(server.endpoint)")
        }
    }

    @Test func configurationProblemsNameTheDestinationAndNoSecret() async throws {
        try await Self.withServer { server, _, dir in
            var env = Self.environment(server, cache: dir.file("cache"))
            env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-0123456789"
            let wrong = S3ArchiveDestination(name: "s3://\(Self.bucket)/logs", environment: env, logger: quietLogger)
            let file = dir.file("log")
            try FileSystem.atomicWrite([1, 2, 3], to: file)
            let refused = await Self.engineError { try wrong.put(localPath: file, as: "log-1") }
            guard case let .objectStore(url, _)? = refused, let text = refused?.description else { Issue.record("\(String(describing: refused))"); return }
            #expect(url == "s3://\(Self.bucket)/logs/log-1" && text.contains("AWS_SECRET_ACCESS_KEY") && !text.contains("not-the-secret"), "\(text)")
            #expect(ExitStatus.of(refused!) == 6)

            env["AWS_ACCESS_KEY_ID"] = nil
            let none = S3ArchiveDestination(name: "s3://\(Self.bucket)/logs", environment: env, logger: quietLogger)
            guard case let .objectStore(_, problem)? = await Self.engineError({ try none.put(localPath: file, as: "log-1") }) else { Issue.record("no credentials"); return }
            #expect(problem.contains("AWS_ACCESS_KEY_ID"), "\(problem)")
            let withSecret = S3ArchiveDestination(name: "s3://AKIAXXX:hunter2@\(Self.bucket)/logs", environment: env, logger: quietLogger)
            guard case let .invalidArgument(message)? = await Self.engineError({ try withSecret.put(localPath: file, as: "log-1") }) else { Issue.record("credentials in the name"); return }
            #expect(!message.contains("hunter2") && message.contains("<redacted>@\(Self.bucket)"), "\(message)")
            let found = try await Self.onThread { withSecret.exists("log-1") }
            #expect(!found)
        }
    }

    @Test func aSilentEndpointIsNotAskedAgainAtOnce() async throws {
        let closed = try #require(TCPProbe.freePort())
        var tuning = S3Tuning()
        (tuning.maxAttempts, tuning.connectTimeout, tuning.baseBackoff, tuning.requestTimeout) = (2, .milliseconds(300), .milliseconds(5), .seconds(2))
        let env = ["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(closed)", "AWS_ACCESS_KEY_ID": "AKIAUNUSED", "AWS_SECRET_ACCESS_KEY": "unused"]
        let dest = S3ArchiveDestination(name: "s3://\(Self.bucket)/silent-\(closed)", environment: env, overrides: S3Overrides(tuning: tuning), logger: quietLogger)
        guard case let .objectStore(_, first)? = await Self.engineError({ _ = try dest.checkedSize(of: "log-1") }) else { Issue.record("a closed port answered"); return }
        #expect(first.contains("no answer from http://127.0.0.1:\(closed)"), "\(first)")
        // Within the quiet period: refused without a connection, saying why. Something now listens
        // on the port, so a request would leave a connection waiting there.
        let (listening, _) = try #require(TCPProbe.listen(port: closed, backlog: 8))
        defer { close(listening) }
        guard case let .objectStore(url, second)? = await Self.engineError({ _ = try dest.checkedSize(of: "log-2") }) else { Issue.record("second call"); return }
        #expect(!TCPProbe.hasPendingConnection(listening), "the silent endpoint was asked again at once")
        #expect(url.hasSuffix("/log-2") && second.contains("was not asked") && second.contains("no answer from"), "\(second)")
    }

    @Test func thePublicAPIKnowsS3DestinationNames() async throws {
        let dir = TempDir()
        let db = dir.file("app.db")
        Ledger.create(db, filler: 10)
        do {
            _ = try await ProtectedDatabase.register(db, Registration(archiveDestinations: ["s3://x/logs"]))
            Issue.record("a malformed s3:// name was registered (as a directory?)")
        } catch {
            #expect(error.code == .invalidRequest && error.message.contains("'x' is not a valid S3 bucket name"), "\(error)")
        }
    }

    // MARK: - Through the cairn executable

    /// A database registered with `--archive-dest s3://BUCKET/logs --archive-dest DIR --min-succeed 2`,
    /// backed up, with three logs written by sqlite3 and archived by `cairn archive --once`, and
    /// a fourth by `cairn archive --follow` (stopped by SIGINT).
    struct Archived {
        let db: String
        let local: String
        let s3: String
        let logs: [LogRecord]
        let source: ContentDigest.Result
        let cairn: @Sendable ([String]) -> Shell.Output

        func removeOnlineLogs() throws {
            let p = try Catalog.open(database: db, logger: quietLogger)
            for g in p.control.redo.groups {
                for member in p.control.redo.memberPaths(group: g.number) { FileSystem.removeFile(member) }
            }
        }
    }

    static func archivedDatabase(_ server: S3TestServer, _ client: S3Client, _ dir: TempDir) async throws -> Archived {
        let env = environment(server, cache: dir.file("cache"))
        let cairn: @Sendable ([String]) -> Shell.Output = { Shell.run([Paths.cairn] + $0, environment: env) }
        func run(_ args: String...) throws {
            let r = cairn(args)
            try #require(r.status == 0, "cairn \(args.joined(separator: " ")) (S3 endpoint \(server.endpoint)): status \(r.status): \(r.stderr)")
        }
        let db = dir.file("app.db"), local = dir.file("local-archive"), s3 = "s3://\(bucket)/logs"
        Ledger.create(db, filler: 500)
        try run("init", db, "--archive-dest", s3, "--archive-dest", local, "--min-succeed", "2")
        try run("backup", db)
        let hold = WALHold(db)
        for round in 1...3 {
            Ledger.write(db, 40, seed: round)
            try run("archive", db, "--once")
        }
        hold.release()
        // Then `archive --follow`: its capture worker (this executable, started by the guardian) archives too.
        let follow = Process()
        follow.executableURL = URL(fileURLWithPath: Paths.cairn)
        follow.arguments = ["archive", db, "--follow"]
        follow.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let followLog = dir.file("follow.log")
        _ = FileManager.default.createFile(atPath: followLog, contents: nil)
        follow.standardError = FileHandle(forWritingAtPath: followLog)
        follow.standardOutput = FileHandle.nullDevice
        try follow.run()
        let captured = Await.capture(of: db) && { Ledger.write(db, 40, seed: 4); return Await.captured(db, through: 160) }()
        kill(follow.processIdentifier, SIGINT)
        follow.waitUntilExit()
        let said = (try? String(contentsOfFile: followLog, encoding: .utf8)) ?? ""
        try #require(captured && follow.terminationStatus == 0, "archive --follow (S3 endpoint \(server.endpoint)): status \(follow.terminationStatus): \(said)")
        let logs = try Catalog.open(database: db, logger: quietLogger).control.redo.logs.sorted { $0.sequence < $1.sequence }
        try #require(logs.count >= 4 && logs.last?.highScn == 160, "\(logs)")
        for log in logs {
            #expect(log.status == .archived && log.destinations.map(\.destination).sorted() == [local, s3].sorted(), "\(log)")
            #expect(log.destinations.allSatisfy { $0.state == .archived }, "\(log.destinations)")
            // In the bucket, with the recorded size and XXH3.
            let info = try #require(try await client.head(key: "logs/" + log.fileName), "logs/\(log.fileName) is not in the bucket at \(server.endpoint)")
            #expect(info.size == log.bytes && info.metadata[S3ArchiveDestination.hashMetadata] == log.xxh3)
        }
        return Archived(db: db, local: local, s3: s3, logs: logs, source: try ContentDigest.compute(db), cairn: cairn)
    }

    @Test func cairnArchivesToABucketAndRestoresFromItAlone() async throws {
        try await Self.withServer { server, client, dir in
            let a = try await Self.archivedDatabase(server, client, dir)
            // Nothing left but the bucket: the local copies and the online logs go.
            for f in FileSystem.list(a.local) { FileSystem.removeFile(a.local + "/" + f) }
            try a.removeOnlineLogs()
            let out = dir.file("restored.db")
            let restored = a.cairn(["restore", a.db, "--latest", "--to", out])
            try #require(restored.status == 0, "S3 endpoint \(server.endpoint): \(restored.stderr)")
            #expect(try ContentDigest.compute(out) == a.source)
            // Every log came from the bucket, through the private cache.
            let cached = FileSystem.list(dir.file("cache")).flatMap { FileSystem.list(dir.file("cache") + "/" + $0) }
            #expect(Set(cached).isSuperset(of: a.logs.map(\.fileName)), "\(cached)")
        }
    }

    @Test func damagedObjectsAreFoundAndRestoreTakesTheOtherDestinationsCopy() async throws {
        try await Self.withServer { server, client, dir in
            let a = try await Self.archivedDatabase(server, client, dir)
            let (first, second, third) = (a.logs[0], a.logs[1], a.logs[2])
            // Other bytes of the same size: one keeping the recorded XXH3 as metadata, one without.
            let other = [UInt8](repeating: 0x5A, count: Int(first.bytes))
            _ = try await client.put(key: "logs/" + first.fileName, bytes: other, metadata: [S3ArchiveDestination.hashMetadata: first.xxh3])
            _ = try await client.put(key: "logs/" + second.fileName, bytes: [UInt8](repeating: 0x5A, count: Int(second.bytes)))
            // Cut short.
            _ = try await client.put(key: "logs/" + third.fileName, bytes: Array(try client.get(key: "logs/" + third.fileName).prefix(100)),
                                     metadata: [S3ArchiveDestination.hashMetadata: third.xxh3])
            let env = Self.environment(server, cache: dir.file("cache"))
            let dest = S3ArchiveDestination(name: a.s3, environment: env, logger: quietLogger)
            guard case .corrupt? = await Self.engineError({ _ = try dest.localCopy(of: first.fileName) }) else { Issue.record("first"); return }
            guard case .corrupt? = await Self.engineError({ try dest.verify(second.fileName, bytes: second.bytes, xxh3: second.xxh3) }) else { Issue.record("second"); return }
            guard case .truncated? = await Self.engineError({ try dest.verify(third.fileName, bytes: third.bytes, xxh3: third.xxh3) }) else { Issue.record("third"); return }

            // crosscheck compares sizes: the short object's copy is EXPIRED, the log is still ARCHIVED (the local copy).
            let checked = a.cairn(["crosscheck", a.db, "--json"])
            try #require(checked.status == 0, "S3 endpoint \(server.endpoint): \(checked.stderr)")
            let report = try JSONDecoder().decode(CrosscheckReport.self, from: Data(checked.stdout.utf8))
            let copies = report.logs.first { $0.sequence == third.sequence }?.copies ?? []
            #expect(copies.first { $0.destination == a.s3 }?.state == "EXPIRED" && copies.first { $0.destination == a.local }?.state == "ARCHIVED", "\(report)")
            #expect(report.expiredLogs == 0)
            // Without credentials the bucket cannot be asked: its copies keep their state, and the report says why.
            var noKey = env
            noKey["AWS_ACCESS_KEY_ID"] = ""
            let unchecked = Shell.run([Paths.cairn, "crosscheck", a.db, "--json"], environment: noKey)
            try #require(unchecked.status == 0, "\(unchecked.stderr)")
            let kept = try JSONDecoder().decode(CrosscheckReport.self, from: Data(unchecked.stdout.utf8))
            let s3Copies = kept.logs.flatMap(\.copies).filter { $0.destination == a.s3 }
            #expect(s3Copies.count == a.logs.count && s3Copies.allSatisfy { $0.state == $0.previous && $0.problem?.contains("AWS_ACCESS_KEY_ID") == true }, "\(kept)")
            #expect(s3Copies.map(\.state).sorted() == Array(repeating: "ARCHIVED", count: a.logs.count - 1) + ["EXPIRED"] && kept.expiredLogs == 0)

            // Recovery finds the damage itself and reads each log from the directory instead.
            try a.removeOnlineLogs()
            let out = dir.file("restored.db")
            let restored = a.cairn(["restore", a.db, "--latest", "--to", out])
            try #require(restored.status == 0, "S3 endpoint \(server.endpoint): \(restored.stderr)")
            #expect(try ContentDigest.compute(out) == a.source)
        }
    }
}
