import CairnFormats
import Foundation
import Logging

/// An archive destination in object storage, named `s3://BUCKET/PREFIX`: log `F` is the
/// object `PREFIX/F`, stored with its XXH3 as user metadata (`x-amz-meta-cairn-xxh3`).
///
/// The endpoint, region and credentials come from the environment of the process
/// (`S3Configuration.fromEnvironment`: AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; CAIRN_S3_PATH_STYLE=1 forces path-style
/// addressing), never from the name, so no secret is ever in the control file or a message.
/// Every process that archives or restores needs them. One shared client per bucket and
/// configuration serves the process (`S3ClientRegistry`); once its endpoint gave no answer,
/// calls fail at once for `S3ClientRegistry.quietPeriod` rather than wait for it again.
///
/// The interface is synchronous, the client async: each call runs its requests through
/// `BlockingBridge` and waits, so it must be called from a thread of its own (as the archiver,
/// recovery and the CLI do), never from a task.
package struct S3ArchiveDestination: ArchiveDestination {
    /// The user-metadata name under which the object's XXH3 (16 hex digits) is stored.
    package static let hashMetadata = "cairn-xxh3"
    /// Retired copies (deleted in two steps, see `retire`) are kept under `PREFIX/.deleting/`.
    package static let retiredFolder = ".deleting"
    /// `CAIRN_S3_PATH_STYLE=1`: address buckets as `https://HOST/BUCKET` (some S3-compatible services need it).
    static let pathStyleKey = "CAIRN_S3_PATH_STYLE"

    package let name: String
    /// The bucket, prefix and configuration, or why the name or the environment gives none.
    let target: Result<Target, EngineError>
    let registry: S3ClientRegistry
    let logger: Logger

    struct Target: Sendable {
        let location: S3Location
        let configuration: S3Configuration
        let cache: S3DownloadCache
    }

    /// The destination `name` (`s3://BUCKET[/PREFIX]`) with the configuration of `environment`
    /// and `overrides`. Nothing is sent yet: a wrong name or environment is reported by the
    /// first operation.
    package init(name: String, environment: [String: String] = ProcessInfo.processInfo.environment, overrides: S3Overrides = S3Overrides(),
                 registry: S3ClientRegistry = .shared, logger: Logger = Logger(label: "cairn.s3")) {
        self.name = name
        self.registry = registry
        self.logger = logger
        var overrides = overrides
        if overrides.forcePathStyle == nil, ["1", "true", "yes"].contains(environment[Self.pathStyleKey]?.lowercased() ?? "") { overrides.forcePathStyle = true }
        target = Self.target(name, environment: environment, overrides: overrides)
    }

    /// Why `name` is not an `s3://BUCKET[/PREFIX]` destination name, nil when it is (the
    /// environment is not looked at: it is the archiving process's that counts).
    package static func problem(with name: String) -> EngineError? {
        if case let .failure(error) = location(name) { return error }
        return nil
    }

    private static func location(_ name: String) -> Result<S3Location, EngineError> {
        if authority(of: name).contains("@") {
            return .failure(.invalidArgument("The archive destination \(redacted(name)) names credentials before its bucket; they do not belong in a destination name (it is stored in the control file and shown in messages). Name it s3://BUCKET/PREFIX and give the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."))
        }
        do throws(S3ConfigurationError) {
            return .success(try S3Location(parsing: name))
        } catch {
            return .failure(error.engineError(destination: name))
        }
    }

    private static func target(_ name: String, environment: [String: String], overrides: S3Overrides) -> Result<Target, EngineError> {
        let location: S3Location
        switch Self.location(name) {
        case let .success(l): location = l
        case let .failure(error): return .failure(error)
        }
        do throws(S3ConfigurationError) {
            let configuration = try S3Configuration.fromEnvironment(environment, overrides: overrides)
            let cache = S3DownloadCache(environment: environment, bucket: location.bucket, scope: "\(configuration.endpoint)|\(location)")
            return .success(Target(location: location, configuration: configuration, cache: cache))
        } catch {
            return .failure(error.engineError(destination: name))
        }
    }

    /// What follows `s3://` up to the first '/'.
    private static func authority(of name: String) -> Substring {
        let rest = name.range(of: "://").map { name[$0.upperBound...] } ?? Substring(name)
        return rest.prefix { $0 != "/" }
    }

    /// `name` as messages show it: anything before an '@' in its bucket part replaced.
    package static func redacted(_ name: String) -> String {
        let authority = authority(of: name)
        guard let at = authority.lastIndex(of: "@") else { return name }
        return String(name[..<authority.startIndex]) + "<redacted>@" + String(name[name.index(after: at)...])
    }

    /// The s3:// URL of the object `key`, as errors name it.
    func url(_ key: String) -> String {
        guard case let .success(t) = target else { return Self.redacted(name) }
        return "s3://\(t.location.bucket)/\(key)"
    }

    func key(_ fileName: String) throws(EngineError) -> String { try target.get().location.key(fileName) }

    /// Runs `operation` with the shared client, waiting for it; an S3 failure becomes the
    /// EngineError that names the object `key`.
    func call<T: Sendable>(_ key: String, _ operation: @escaping @Sendable (S3Client) async throws(S3Error) -> T) throws(EngineError) -> T {
        let target = try target.get()
        let client: S3Client
        do throws(S3ConfigurationError) {
            client = try registry.client(bucket: target.location.bucket, configuration: target.configuration)
        } catch {
            throw error.engineError(destination: name)
        }
        if let silent = registry.recentSilence(of: client) {
            throw .objectStore(url: url(key), problem: "\(url(key)) was not asked: the endpoint gave no answer \(Int(silent.age.components.seconds)) s ago, and is tried again \(Int(S3ClientRegistry.quietPeriod.components.seconds)) s after that. \(silent.error.description)")
        }
        do throws(S3Error) {
            let result = try BlockingBridge.run { () async throws(S3Error) -> T in try await operation(client) }
            registry.record(nil, of: client)
            return result
        } catch {
            if case .unreachable = error { registry.record(error, of: client) } else { registry.record(nil, of: client) }
            throw error.engineError(url: url(key))
        }
    }

    /// HEAD of the object `key`: nil when it does not exist.
    func head(_ key: String) throws(EngineError) -> S3ObjectInfo? {
        try call(key) { client async throws(S3Error) in try await client.head(key: key) }
    }

    // MARK: - ArchiveDestination

    /// Uploads `localPath` as `PREFIX/fileName` with its XXH3 as metadata, only where no object
    /// is (If-None-Match: *); returns once the service confirmed the bytes (their SHA-256). An
    /// object already there of the same size and XXH3 is this log (an earlier attempt whose
    /// answer was lost) and counts as stored; any other is another writer's and is never replaced.
    package func put(localPath: String, as fileName: String) throws(EngineError) {
        let key = try key(fileName)
        guard let bytes = FileSystem.fileSize(localPath) else { throw .missingFile(path: localPath, detail: "log to archive") }
        let xxh3 = Hash.hex(try FileSystem.hashFile(localPath))
        let metadata = [Self.hashMetadata: xxh3]
        // nil: stored now; .some(info): the key was taken, and HEAD found `info` there.
        let taken: S3ObjectInfo?? = try call(key) { client async throws(S3Error) in
            do throws(S3Error) {
                _ = try await client.put(key: key, fileAt: localPath, ifNoneMatch: true, metadata: metadata)
                return nil
            } catch .alreadyExists(_, _) {
                return .some(try await client.head(key: key))
            }
        }
        guard let taken else { return }
        guard let info = taken else {
            throw .objectStore(url: url(key), problem: "\(url(key)) was reported as existing when this log was archived, and was gone a moment later: another writer is using this key. Cairn archives it again later; check that no other database archives to \(Self.redacted(name)).")
        }
        if info.size == bytes && info.metadata[Self.hashMetadata] == xxh3 { return }
        let found = info.metadata[Self.hashMetadata].map { "XXH3 \($0)" } ?? "no \(Self.hashMetadata) metadata"
        throw .objectStore(url: url(key), problem: "\(url(key)) already holds another writer's object (\(info.size) bytes, \(found)) where this log has \(bytes) bytes and XXH3 \(xxh3); Cairn never replaces it. Give each database its own prefix; if that object is not needed, move it away, then archiving resumes by itself.")
    }

    /// Checks size and XXH3 by HEAD: the XXH3 stored with the object at upload must be
    /// `xxh3`. An object without it (copied in by another tool, or replaced) is downloaded
    /// and hashed.
    package func verify(_ fileName: String, bytes: UInt64, xxh3: String) throws(EngineError) {
        let key = try key(fileName)
        guard let info = try head(key) else { throw .missingFile(path: url(key), detail: "archived log") }
        if info.size != bytes { throw .truncated(file: url(key), expected: bytes, actual: info.size) }
        if let stored = info.metadata[Self.hashMetadata] {
            if stored != xxh3 { throw .corrupt(file: url(key), offset: nil, detail: "its stored XXH3 (x-amz-meta-\(Self.hashMetadata)) is \(stored), the archived log's is \(xxh3)") }
            return
        }
        let path = try download(fileName, key: key, info: info)
        let actual = Hash.hex(try FileSystem.hashFile(path))
        if actual != xxh3 {
            try target.get().cache.remove(fileName)
            throw .corrupt(file: url(key), offset: nil, detail: "archived log checksum \(actual) differs from the recorded \(xxh3)")
        }
    }

    /// A local copy in the private download cache: the cached one when its size and XXH3
    /// match the object's, else a new download, whose XXH3 must be the one stored with the
    /// object (when it has one).
    package func localCopy(of fileName: String) throws(EngineError) -> String {
        let key = try key(fileName)
        guard let info = try head(key) else { throw .missingFile(path: url(key), detail: "archived log") }
        return try download(fileName, key: key, info: info)
    }

    private func download(_ fileName: String, key: String, info: S3ObjectInfo) throws(EngineError) -> String {
        let cache = try target.get().cache
        try cache.prepare()
        let path = cache.path(fileName)
        let expected = info.metadata[Self.hashMetadata]
        if let expected, FileSystem.fileSize(path) == info.size, (try? FileSystem.hashFile(path)).map(Hash.hex) == expected { return path }
        _ = try call(key) { client async throws(S3Error) in try await client.download(key: key, toFile: path) }
        let actual = Hash.hex(try FileSystem.hashFile(path))
        if let expected, actual != expected {
            cache.remove(fileName)
            throw .corrupt(file: url(key), offset: nil, detail: "the downloaded object has XXH3 \(actual), not the \(expected) stored with it at upload (x-amz-meta-\(Self.hashMetadata)): it was changed since")
        }
        return path
    }

    package func exists(_ fileName: String) -> Bool { size(of: fileName) != nil }

    /// By HEAD; nil when it is not there, or when the service cannot be asked (logged).
    package func size(of fileName: String) -> UInt64? {
        do throws(EngineError) {
            return try checkedSize(of: fileName)
        } catch {
            logger.warning("cannot look for \(fileName) in \(Self.redacted(name)): \(error.description)")
            return nil
        }
    }

    /// By HEAD; nil when it is not there; throws when the service cannot be asked.
    package func checkedSize(of fileName: String) throws(EngineError) -> UInt64? { try head(try key(fileName))?.size }
}
