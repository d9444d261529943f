import Foundation

extension ProtectedDatabase {
    /// Rewrites the repository's catalog from the newest control file, under the control-file
    /// lock, so two processes that change the catalog one after the other can never leave
    /// the older view in the repository.
    func writeCatalog(_ store: ControlFileStore) throws(CairnError) {
        let lock = try ControlFileLock(path: store.lockPath)
        defer { lock.release() }
        let newest = ControlFileStore.newestCopy(store.copies)
        let content = newest.map { $0.usn >= store.usn ? $0.content : store.content } ?? store.content
        try RepositoryCatalog.write(content, layout: layout, usn: max(newest?.usn ?? 0, store.usn))
    }
}
