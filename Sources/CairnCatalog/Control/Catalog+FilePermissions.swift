import Foundation
import CairnFormats

/// Everything Cairn writes for a database is no more readable than the database (invariant 10):
/// the places that hold its data take the mode of `cairn init --mode`, or else the database
/// file's own bits; a restored database gets the mode of the database it was taken from.
extension Catalog {
    /// Registers with `FilePermissions` the places that hold the data of the database at
    /// `database` described by `c`: the repository, online-log member directories, archive
    /// destinations and control-file copies.
    package static func registerPermissions(_ c: ControlFile, database: String) {
        FilePermissions.register(
            owner: FileSystem.resolved(database), source: c.fileMode.map { .fixed($0) } ?? .database(database),
            trees: [c.repository] + c.redo.memberDirectories + c.redo.archiveDestinations,
            files: c.controlCopies)
    }

    /// The mode of a database restored from `manifest`: the live database's own when it is
    /// here (not when restoring from a repository alone), else the one the backup recorded,
    /// else owner-only (backups written before releases that recorded it).
    package func restoredDatabaseMode(_ manifest: BackupManifest?) -> FileMode {
        if !isRepositoryAlone, let live = FileMode.of(file: databasePath) { return live }
        return manifest?.databaseMode ?? .ownerOnly
    }
}
