import CairnFormats
import Foundation

/// How failures of object storage reach Cairn's users: as `EngineError`s naming the s3:// URL
/// of the object (never a credential) and saying what to do.
extension S3Error {
    /// This failure on the object at `url` (`s3://BUCKET/KEY`).
    ///
    /// - `notFound` of an object: `missingFile` (the object is not there); of the bucket:
    ///   `objectStore` (check the bucket's name, region and endpoint).
    /// - `accessDenied`, `service`, `unreachable`, `integrity`, `invalidResponse`, `tooLarge`,
    ///   `alreadyExists`: `objectStore`, with the service's answer and the next step
    ///   (credentials, endpoint, bucket, region, retry).
    /// - `localFile`: `io` (or `diskFull`) on the local path.
    /// - `invalidKey`, `invalidMetadata`: `invalidArgument`.
    /// - `cancelled`: `cancelled`.
    package func engineError(url: String) -> EngineError {
        switch self {
        case let .notFound(failure):
            if failure.code == "NoSuchBucket" || failure.key == nil { return .objectStore(url: url, problem: description) }
            return .missingFile(path: url, detail: "archived log; \(failure.operation) answered HTTP \(failure.status)\(failure.code.map { " " + $0 } ?? "")")
        case .accessDenied, .service, .unreachable, .integrity, .invalidResponse, .tooLarge, .alreadyExists:
            return .objectStore(url: url, problem: description)
        case let .localFile(path, operation, errno):
            return .fromErrno(operation, path, errno)
        case .invalidKey, .invalidMetadata:
            return .invalidArgument(description)
        case let .cancelled(operation):
            return .cancelled(operation: operation)
        }
    }
}

extension S3ConfigurationError {
    /// This configuration problem for the archive destination `name` (shown redacted).
    /// A name that is not an s3:// location is a wrong argument; missing credentials or region
    /// and a bad endpoint are problems of the environment, reported as `objectStore`.
    package func engineError(destination name: String) -> EngineError {
        switch self {
        case .malformedLocation, .invalidBucketName:
            return .invalidArgument("The archive destination \(S3ArchiveDestination.redacted(name)) cannot be used: \(description)")
        case .malformedEndpoint, .missingCredentials, .missingRegion, .invalidSetting:
            return .objectStore(url: S3ArchiveDestination.redacted(name), problem: description + " (\(S3ArchiveDestination.redacted(name)) is reached with the settings in the environment of every cairn process that archives, backs up or restores: the AWS_* variables, or --s3-endpoint and --s3-region)")
        }
    }
}
