import CairnFormats

/// Makes `s3://BUCKET/PREFIX` archive destination names resolve to `S3ArchiveDestination`
/// (see `ArchiveDestinations`). Called at the start of every process that may archive or
/// restore: the `cairn` executable (which is also the capture worker a guardian starts) and
/// the public API before each operation. Idempotent and cheap after the first call.
package enum ObjectStoreSetup {
    package static let schemes = ["s3", "S3"]

    package static func register() { _ = registered }

    private static let registered: Void = {
        ObjectRequests.register { S3ClientRegistry.shared.totals.byKind }
        for scheme in schemes {
            ArchiveDestinations.register(scheme: scheme, validate: S3ArchiveDestination.problem(with:)) { name in S3ArchiveDestination(name: name) }
        }
    }()
}
