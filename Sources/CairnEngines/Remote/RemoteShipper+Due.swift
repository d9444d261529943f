import Foundation
import CairnFormats
import CairnCatalog

extension RemoteShipper {
    /// What a remote lacks, from the control file alone.
    struct Due {
        var logs: [LogRecord] = []
        var backups: [BackupRecord] = []
        var removedBackups: [UInt64] = []
        var catalog = false
        var keyring = false
        var isEmpty: Bool { logs.isEmpty && backups.isEmpty && removedBackups.isEmpty && !catalog && !keyring }
    }

    func due(for remote: RemoteRepository, in c: ControlFile, catalog: String?) -> Due {
        var d = Due()
        if remote.mode == .async {
            let name = remote.archiveDestination(dbid: c.dbid)
            d.logs = c.redo.logs.filter { l in l.destinations.contains { $0.destination == name && ($0.state == .pending || $0.state == .failed) } }
                .sorted { ($0.incarnation, $0.sequence) < ($1.incarnation, $1.sequence) }
        }
        let stored = Set(remote.backups)
        d.backups = c.backups.filter { !stored.contains($0.id) && $0.isAvailable }.sorted { $0.id < $1.id }
        let known = Set(c.backups.map(\.id))
        d.removedBackups = remote.backups.filter { !known.contains($0) }
        d.catalog = catalog != nil && catalog != remote.catalogXXH3
        let keyring = keyringHash()
        d.keyring = keyring != nil && keyring != remote.keyringXXH3
        return d
    }

    /// XXH3 of the repository's catalog copy, nil when there is none.
    func catalogHash() -> String? {
        (try? FileSystem.hashFile(RepositoryCatalog.path(database.layout))).map(Hash.hex)
    }

    /// XXH3 of the repository's keyring, nil when it has none (not encrypted).
    func keyringHash() -> String? {
        (try? FileSystem.hashFile(database.layout.keyringFile)).map(Hash.hex)
    }

    /// Lag of every remote: what it still lacks.
    package func lag() -> [RemoteLag] {
        let c = database.control
        let catalog = catalogHash()
        let now = Date()
        return c.remoteRepositories.map { r in
            let d = due(for: r, in: c, catalog: catalog)
            let name = r.archiveDestination(dbid: c.dbid)
            let missing = c.redo.logs.filter { l in l.destinations.contains { $0.destination == name && ($0.state == .pending || $0.state == .failed) } }
            let oldest = (missing.map(\.closedAt) + d.backups.map(\.completedAt)).min()
            return RemoteLag(url: r.url, mode: r.mode.rawValue, root: r.root(dbid: c.dbid), logsBehind: missing.count,
                             bytesBehind: missing.map(\.bytes).reduce(0, +) + d.backups.map(\.bytes).reduce(0, +),
                             backupsBehind: d.backups.count, catalogCurrent: !d.catalog && !d.keyring,
                             lagSeconds: oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0,
                             backupsStored: r.backups.count, syncedAt: r.syncedAt, lastError: r.lastError, lastErrorAt: r.lastErrorAt)
        }
    }
}

/// How far a remote repository is behind (`status --json`, `configure DB remote list`).
package struct RemoteLag: Sendable, Codable, Equatable {
    package let url: String
    package let mode: String
    /// Where this database's repository is at the remote (URL/DBID).
    package let root: String
    package let logsBehind: Int
    package let bytesBehind: UInt64
    package let backupsBehind: Int
    package let catalogCurrent: Bool
    /// Age of the oldest log or backup the remote lacks (0 when it lacks none).
    package let lagSeconds: Double
    package let backupsStored: Int
    package let syncedAt: Date?
    package let lastError: String?
    package let lastErrorAt: Date?
}
