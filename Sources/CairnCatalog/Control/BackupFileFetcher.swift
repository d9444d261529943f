import CairnFormats

/// Brings a backup's files into the repository directory before they are read, for a
/// repository staged from a remote (only the manifests are downloaded up front; the pieces
/// of the backups a restore actually uses are downloaded when it uses them).
package protocol BackupFileFetcher: Sendable {
    /// Makes every file of the backup in `directory` (relative to `root`) present there.
    func fetch(_ directory: String, into root: String) throws(EngineError)
}
