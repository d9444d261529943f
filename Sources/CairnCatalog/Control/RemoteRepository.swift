import Foundation
import CairnFormats

/// A copy of the repository in object storage (`cairn init --remote`, `cairn configure DB
/// remote add`): every archived log, backup set, archived-log set, image copy and catalog copy
/// reaches it. One URL may hold the repositories of many databases, each under its DBID:
///
///     URL/<DBID>/repository.json    identity
///     URL/<DBID>/catalog.json       catalog copy (replaced as it changes)
///     URL/<DBID>/backups/<id>/…     each backup's manifest and pieces, as in the repository
///     URL/<DBID>/archive/<log>      archived logs
///
/// A `sync` remote's archive is one of the archive destinations: it counts toward min-succeed.
/// An `async` remote's never does; it is filled behind local archiving and catches up by itself.
package struct RemoteRepository: Codable, Sendable, Equatable {
    package enum Mode: String, Codable, Sendable, CaseIterable { case sync, async }

    package var url: String
    package var mode: Mode
    package var addedAt: Date
    /// Backups whose every file is stored there, and recounted after upload.
    package var backups: [UInt64] = []
    /// XXH3 of the catalog copy last stored there, and when.
    package var catalogXXH3: String?
    package var catalogAt: Date?
    /// XXH3 of the keyring copy last stored there (encrypted repositories; it changes when a
    /// data key is added or the master key rotated).
    package var keyringXXH3: String?
    /// The last pass that stored everything due, and the last failure (cleared by a pass that succeeds).
    package var syncedAt: Date?
    package var lastError: String?
    package var lastErrorAt: Date?

    package init(url: String, mode: Mode, addedAt: Date = Date()) {
        self.url = Self.normalized(url)
        self.mode = mode
        self.addedAt = addedAt
    }

    /// `url` without trailing slashes, so one remote is not added twice under two spellings.
    package static func normalized(_ url: String) -> String {
        var u = Substring(url)
        while u.hasSuffix("/") && !u.hasSuffix("://") { u = u.dropLast() }
        return String(u)
    }

    /// The repository of database `dbid` at this remote.
    package func root(dbid: String) -> String { url + "/" + dbid }
    /// The archive destination name of database `dbid` at this remote.
    package func archiveDestination(dbid: String) -> String { root(dbid: dbid) + "/archive" }
    package func backupFolder(dbid: String, directory: String) -> String { root(dbid: dbid) + "/" + directory }
}

extension ControlFile {
    /// The remote repositories (none when the control file predates them).
    package var remoteRepositories: [RemoteRepository] {
        get { remotes ?? [] }
        set { remotes = newValue.isEmpty ? nil : newValue }
    }

    /// Archive destinations of asynchronous remotes: every log gets a copy there, but they
    /// never count toward min-succeed and the archiver leaves them to the remote shipper.
    package var asyncArchiveDestinations: [String] {
        remoteRepositories.filter { $0.mode == .async }.map { $0.archiveDestination(dbid: dbid) }
    }

    /// Every destination a newly closed log is to be copied to.
    package var logDestinations: [String] { redo.archiveDestinations + asyncArchiveDestinations.filter { !redo.archiveDestinations.contains($0) } }
}
