import Foundation
import CairnFormats

/// What a restore point needs to be reached: the backup chain recovery starts from (the
/// newest usable one at or before the point on its lineage) and the logs from that backup's
/// SCN through the point — and, while the point is on the current lineage, on to the newest
/// log, which a flashback to it reads. For a guaranteed point these are kept whatever
/// retention says.
package struct RestorePointGuarantee: Sendable, Codable, Equatable {
    package var name: String
    package var scn: UInt64
    package var incarnation: Int
    /// The backup recovery starts from, and every backup of its chain (level 1s, level 0).
    package var backupId: UInt64?
    package var backups: [UInt64]
    package var logs: [LogKey]

    /// The needs of `point` as the control file stands.
    package static func of(_ point: RestorePoint, in c: ControlFile) -> RestorePointGuarantee {
        let path = LineagePath(c, to: point.incarnation)
        let target = path.position(scn: point.scn, incarnation: point.incarnation) ?? .init(index: max(0, path.chain.count - 1), scn: point.scn)
        var best: (record: BackupRecord, chain: [BackupRecord], at: LineagePath.Position)?
        for b in c.backups where b.isDatabaseBackup && b.isAvailable {
            guard let at = path.position(scn: b.scn, incarnation: b.incarnation), !(target < at),
                  let chain = c.chain(of: b),
                  c.gap(on: path, after: at, through: target) == nil else { continue }
            if let cur = best, at < cur.at || (at == cur.at && b.id < cur.record.id) { continue }
            best = (b, chain, at)
        }
        let from = best?.at ?? .init(index: 0, scn: 0)
        var logs = c.redo.logs.filter { path.log($0, overlapsAfter: from, through: target) }.map(\.key)
        // Flashback to the point reads the logs from it to the newest too (which pages changed
        // since): while the point is on the current lineage, those are kept as well.
        let current = LineagePath(c, to: c.incarnation)
        if let at = current.position(scn: point.scn, incarnation: point.incarnation) {
            let newest = LineagePath.Position(index: current.chain.count - 1, scn: .max)
            logs += c.redo.logs.filter { current.log($0, overlapsAfter: at, through: newest) }.map(\.key).filter { !logs.contains($0) }
        }
        return RestorePointGuarantee(name: point.name, scn: point.scn, incarnation: point.incarnation, backupId: best?.record.id,
                                     backups: best?.chain.map(\.id) ?? [], logs: logs)
    }

    /// Everything the guaranteed restore points of `c` keep.
    static func protected(_ c: ControlFile) -> (backups: Set<UInt64>, logs: Set<LogKey>) {
        var backups: Set<UInt64> = [], logs: Set<LogKey> = []
        for p in c.restorePoints where p.guaranteed {
            let g = of(p, in: c)
            backups.formUnion(g.backups)
            logs.formUnion(g.logs)
        }
        return (backups, logs)
    }
}
