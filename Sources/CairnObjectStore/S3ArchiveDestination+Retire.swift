import CairnFormats
import Foundation

/// Deletion in two steps, as callers expect of every destination: `retire` makes the log
/// unreachable but keeps it, then the deletion is recorded in the control file, then
/// `purgeRetired` removes it for good; when the record fails, `unretire` puts it back. S3 has
/// no rename: retiring is a server-side copy to `PREFIX/.deleting/F` followed by the DELETE
/// of `PREFIX/F`, and putting back the reverse.
extension S3ArchiveDestination {
    /// Where the retired copy of `fileName` is kept.
    func retiredKey(_ fileName: String) throws(EngineError) -> String { try key(Self.retiredFolder + "/" + fileName) }

    /// Copies `PREFIX/fileName` aside, then deletes it. False when it is not there. When the
    /// DELETE fails the copy aside is removed again and the log stays where it was.
    package func retire(_ fileName: String) throws(EngineError) -> Bool {
        let key = try key(fileName), aside = try retiredKey(fileName)
        guard try head(key) != nil else { return false }
        do throws(EngineError) {
            try call(key) { client async throws(S3Error) in try await client.copy(from: key, to: aside) }
        } catch {
            if case .missingFile = error { return false }  // deleted in between
            throw error
        }
        do throws(EngineError) {
            try call(key) { client async throws(S3Error) in try await client.delete(key: key) }
        } catch {
            try? call(aside) { client async throws(S3Error) in try await client.delete(key: aside) }
            throw error
        }
        try target.get().cache.remove(fileName)
        return true
    }

    /// Copies the retired copy back and removes it, unless an object was put back at
    /// `PREFIX/fileName` meanwhile (then the retired copy is left for `purgeRetired(nil)`).
    /// Failures are logged (the caller has nothing more to do about them).
    package func unretire(_ fileName: String) {
        do throws(EngineError) {
            let key = try key(fileName), aside = try retiredKey(fileName)
            guard try head(aside) != nil, try head(key) == nil else { return }
            try call(key) { client async throws(S3Error) in try await client.copy(from: aside, to: key) }
            try call(aside) { client async throws(S3Error) in try await client.delete(key: aside) }
        } catch {
            logger.warning("could not put \(fileName) back in \(Self.redacted(name)) after a deletion that was not recorded: \(error.description)")
        }
    }

    /// Deletes the retired copy of `fileName`, or, when nil, every object under
    /// `PREFIX/.deleting/` (what interrupted deletions left). Failures are logged; a later
    /// `purgeRetired(nil)` removes what is left.
    package func purgeRetired(_ fileName: String?) {
        do throws(EngineError) {
            let cache = try target.get().cache
            if let fileName {
                let aside = try retiredKey(fileName)
                try call(aside) { client async throws(S3Error) in try await client.delete(key: aside) }
                cache.remove(fileName)
                return
            }
            let folder = try retiredKey("")
            let listing = try call(folder) { client async throws(S3Error) in try await client.list(prefix: folder) }
            for object in listing.objects {
                try call(object.key) { client async throws(S3Error) in try await client.delete(key: object.key) }
                cache.remove(String(object.key.dropFirst(folder.count)))
            }
        } catch {
            logger.warning("could not remove retired logs from \(Self.redacted(name)): \(error.description)")
        }
    }
}
