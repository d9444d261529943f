import Foundation
import Logging
import CairnFormats
import CairnCatalog
import CairnEngines

/// Opens the database a target names, registering it first as `cairn init` would (with the
/// entry's repository, redo settings, remotes and key) when it is not registered yet, and
/// brings its settings in line with the entry: retention, remotes, encryption.
package enum DatabaseRegistrar {
    package static func prepare(_ target: AgentTarget, logger: Logger) throws(EngineError) -> (catalog: Catalog, registered: Bool) {
        let e = target.entry
        guard FileSystem.exists(target.path) else { throw .databaseMissing(path: target.path) }
        do throws(EngineError) {
            let catalog = try Catalog.open(database: target.path, repository: e.repository, logger: logger)
            try apply(e, to: catalog, logger: logger)
            return (catalog, false)
        } catch {
            guard case .notRegistered = error else { throw error }
        }
        let catalog = try register(target, logger: logger)
        return (catalog, true)
    }

    static func register(_ target: AgentTarget, logger: Logger) throws(EngineError) -> Catalog {
        let e = target.entry
        var redo = RedoOptions()
        if let v = e.logSizeBytes { redo.logSizeBytes = v }
        if let v = e.walTargetBytes { redo.walTargetBytes = v }
        if let v = e.archiveTimeoutSeconds { redo.archiveTimeoutSeconds = v }
        for r in e.remotes { if let problem = ArchiveDestinations.problem(with: r) { throw problem } }
        if let keyFile = e.encryptionKeyFile { _ = try EncryptionKeyFile.read(keyFile) }
        let catalog = try Catalog.initialize(database: target.path, repository: e.repository, redo: redo, logger: logger)
        logger.info("registered \(target.path) (DBID \(catalog.dbid)) with its repository in \(catalog.layout.root)")
        try apply(e, to: catalog, logger: logger)
        return catalog
    }

    /// The entry's retention, remotes and key, where the control file says otherwise. A remote
    /// that cannot be added or removed is logged and left as it is: the database is protected
    /// regardless.
    static func apply(_ e: DatabaseEntry, to catalog: Catalog, logger: Logger) throws(EngineError) {
        let c = catalog.control
        if let retention = retention(e), retention != c.policy.retention { try catalog.setRetention(retention) }
        if let keyFile = e.encryptionKeyFile, c.encryption == nil { _ = try catalog.enableEncryption(keyFile: keyFile) }
        let mode: RemoteRepository.Mode = e.remoteMode == "sync" ? .sync : .async
        let wanted = e.remotes.map(normalized)
        let present = Set((c.remotes ?? []).map(\.url))
        // What a new remote lacks is shipped by capture's shipper, not here: capture starts first.
        for url in wanted where !present.contains(url) {
            do throws(EngineError) { try catalog.addRemote(url, mode: mode) } catch {
                logger.error("cannot add the remote \(url) to \(catalog.databasePath): \(error.description)")
            }
        }
        for r in c.remotes ?? [] where !wanted.contains(r.url) {
            do throws(EngineError) { try catalog.removeRemote(r.url) } catch {
                logger.error("cannot remove the remote \(r.url) of \(catalog.databasePath): \(error.description)")
            }
        }
    }

    /// A remote's name as the control file keeps it.
    static func normalized(_ url: String) -> String {
        ArchiveDestinations.isLocal(url) ? FileSystem.resolved(url) : RemoteRepository.normalized(url)
    }

    static func retention(_ e: DatabaseEntry) -> Policy.Retention? {
        if let n = e.redundancy { return .redundancy(n) }
        if let d = e.windowDays { return .window(days: d) }
        return nil
    }
}
