import CairnFormats
import Foundation

/// Where archived logs downloaded from object storage are kept, so that recovery can read
/// them as local files (and a second recovery need not download them again): one private
/// directory per destination under the cache root, `CAIRN_S3_CACHE` when set, else
/// `TMPDIR/cairn-s3-cache-UID`. The root and each directory are this user's own with mode
/// 0700 (a directory of that name made by another user is refused, not used). Files appear
/// there whole (downloaded to a temporary name, then renamed), so two processes fetching
/// the same log never read a partial one.
struct S3DownloadCache: Sendable {
    static let environmentKey = "CAIRN_S3_CACHE"

    /// The cache root, then the destination's own directory in it.
    let root: String
    let directory: String

    /// `scope` identifies the destination (endpoint, bucket and prefix); it is hashed into the
    /// directory's name, after the bucket's for people looking at the cache.
    init(environment: [String: String], bucket: String, scope: String) {
        let given = environment[Self.environmentKey].map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        root = given.isEmpty ? NSTemporaryDirectory() + "cairn-s3-cache-\(getuid())" : FileSystem.absolute(given)
        directory = root + "/" + bucket + "-" + Hash.hex(Hash.xxh3(Array(scope.utf8)))
    }

    func path(_ fileName: String) -> String { directory + "/" + fileName }

    /// Creates the root and the directory when needed and checks that both are private.
    func prepare() throws(EngineError) {
        try Self.makePrivateDirectory(root)
        try Self.makePrivateDirectory(directory)
    }

    /// Removes the cached copy of `fileName` (its object was deleted).
    func remove(_ fileName: String) { FileSystem.removeFile(path(fileName)) }

    private static func makePrivateDirectory(_ path: String) throws(EngineError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw .fromErrno("create the S3 download cache directory", path, errno) }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw .fromErrno("inspect the S3 download cache directory", path, errno) }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw .io(operation: "use the S3 download cache (it is not a directory; set \(environmentKey) to a directory of your own)", path: path, errno: ENOTDIR)
        }
        guard st.st_uid == getuid() else {
            throw .io(operation: "use the S3 download cache (it belongs to user \(st.st_uid), not to this user; set \(environmentKey) to a directory of your own)", path: path, errno: EACCES)
        }
        if st.st_mode & 0o077 != 0 && chmod(path, 0o700) != 0 { throw .fromErrno("make the S3 download cache directory private", path, errno) }
    }
}
