import Foundation
import CairnFormats
import CairnCatalog

extension Catalog {
    /// Takes the next backup id from the control file and claims it (`PartialBackupOwner`),
    /// both under the control-file lock, so two processes never get the same id. An id with
    /// anything of a backup already on disk is skipped; an id is never given out twice, even
    /// when its backup fails.
    func claimBackupId() throws(EngineError) -> PartialBackupOwner {
        var owner: PartialBackupOwner?
        do throws(EngineError) {
            try transact { (c: inout ControlFile) throws(EngineError) in
                owner?.release()
                var id = max(c.nextBackupId, (c.backups.map(\.id).max() ?? 0) + 1)
                while !PartialBackupOwner.isFree(id, layout: layout) { id += 1 }
                owner = try PartialBackupOwner.claim(id, layout: layout)
                c.nextBackupId = id + 1
            }
        } catch {
            owner?.release()
            throw error
        }
        return owner!
    }
}
