import CairnFormats
import Foundation

/// What remote repositories need beyond archived logs: listings (to recount a backup's pieces
/// after upload, and to find the databases under a prefix), catalog copies that are replaced
/// as they change, and downloads straight to where a restore wants them.
extension S3ArchiveDestination {
    /// One ListObjectsV2 (with "/" as delimiter, so retired copies under `.deleting/` and
    /// sub-folders are left out).
    package func list() throws(EngineError) -> [ListedFile] {
        let folder = try key("")
        let listing = try call(folder) { client async throws(S3Error) in try await client.list(prefix: folder, delimiter: "/") }
        return listing.objects.compactMap { o in
            let name = String(o.key.dropFirst(folder.count))
            return name.isEmpty ? nil : ListedFile(name: name, bytes: o.size, modifiedAt: o.lastModified)
        }
    }

    package func folders() throws(EngineError) -> [String] {
        let folder = try key("")
        let listing = try call(folder) { client async throws(S3Error) in try await client.list(prefix: folder, delimiter: "/") }
        return listing.commonPrefixes.map { String($0.dropFirst(folder.count).dropLast()) }.filter { !$0.isEmpty && !$0.hasPrefix(".") }
    }

    /// Uploads `localPath` as `PREFIX/fileName` whatever is there (with its XXH3 as metadata);
    /// returns once the service confirmed the bytes.
    package func replace(localPath: String, as fileName: String) throws(EngineError) {
        let key = try key(fileName)
        let xxh3 = Hash.hex(try FileSystem.hashFile(localPath))
        _ = try call(key) { client async throws(S3Error) in
            try await client.put(key: key, fileAt: localPath, ifNoneMatch: false, metadata: [Self.hashMetadata: xxh3])
        }
    }

    /// Downloads `PREFIX/fileName` to `path` (ranged parallel GETs for a large object); its
    /// XXH3 must be the one stored with it at upload, when it has one.
    package func fetch(_ fileName: String, to path: String) throws(EngineError) {
        let key = try key(fileName)
        guard let info = try head(key) else { throw .missingFile(path: url(key), detail: "stored file") }
        _ = try call(key) { client async throws(S3Error) in try await client.download(key: key, toFile: path) }
        guard let expected = info.metadata[Self.hashMetadata] else { return }
        let actual = Hash.hex(try FileSystem.hashFile(path))
        if actual != expected {
            FileSystem.removeFile(path)
            throw .corrupt(file: url(key), offset: nil, detail: "the downloaded object has XXH3 \(actual), not the \(expected) stored with it at upload (x-amz-meta-\(Self.hashMetadata)): it was changed since")
        }
    }

    package func remove(_ fileName: String) throws(EngineError) {
        let key = try key(fileName)
        try call(key) { client async throws(S3Error) in try await client.delete(key: key) }
        try target.get().cache.remove(fileName)
    }

    /// ListMultipartUploads under the prefix, then AbortMultipartUpload for each one older than `cutoff`.
    package func abortAbandonedUploads(olderThan cutoff: Date) throws(EngineError) -> Int {
        let folder = try key("")
        return try call(folder) { client async throws(S3Error) in try await client.abortIncompleteUploads(prefix: folder, olderThan: cutoff) }
    }
}
