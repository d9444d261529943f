import Foundation
import CairnFormats

extension ControlFile {
    /// The backups a restore of `b` reads, level 0 first, following each level 1's base;
    /// nil when a member is missing or not AVAILABLE (the chain is broken).
    package func chain(of b: BackupRecord) -> [BackupRecord]? {
        guard b.isDatabaseBackup, b.isAvailable else { return nil }
        var chain = [b]
        var seen: Set<UInt64> = [b.id]
        var cur = b
        while cur.level > 0 {
            guard let id = cur.baseId, !seen.contains(id),
                  let parent = backups.first(where: { $0.id == id }), parent.isDatabaseBackup, parent.isAvailable else { return nil }
            chain.insert(parent, at: 0)
            seen.insert(id)
            cur = parent
        }
        return chain
    }
}
