import Foundation
import CairnFormats
import CairnCatalog

/// The page map at an SCN when another process captures: the capture page map persisted at
/// its last log switch, brought forward with the page hashes the online logs record after it
/// (no page content is read; every record's state checksum is checked on the way).
enum LoggedPageMap {
    /// The map at `target`; nil when the persisted map is past it or of another incarnation,
    /// or the online logs do not reach it (yet).
    static func at(_ target: UInt64, control c: ControlFile, pageMapFile: String) throws(EngineError) -> PageMap? {
        let persisted = try PageMap.read(pageMapFile)
        guard persisted.incarnation == c.incarnation, persisted.scn <= target else { return nil }
        var map = persisted.map
        var scn = persisted.scn
        if scn == target { return map }
        for path in onlineLogs(c) {
            let reader = try RedoLogReader(path: path)
            while let r = try reader.next(strict: false, hashes: { (r: RedoRecord, pgno: UInt32, hash: UInt64) throws(EngineError) in
                guard r.scn > scn, r.scn <= target else { return }
                map.apply(pgno: pgno, hash: hash, scn: r.scn)
            }) {
                if r.scn <= scn { continue }
                // A gap stands for pages nobody captured: their hashes are unknown.
                if r.scn > target || r.kind == .gap { return nil }
                map.finish(r)
                scn = r.scn
                guard scn == target else { continue }
                guard map.state == r.stateChecksum else {
                    throw .verificationFailed(file: path, detail: "the page map brought forward to SCN \(scn) sums to \(Hash.hex(map.state)) but the log records \(Hash.hex(r.stateChecksum))")
                }
                return map
            }
        }
        return nil
    }

    /// One readable member of each online log of the current incarnation, oldest first.
    static func onlineLogs(_ c: ControlFile) -> [String] {
        var found: [(sequence: UInt64, path: String)] = []
        for g in c.redo.groups {
            for path in c.redo.memberPaths(group: g.number) where !g.staleMembers.contains(path) {
                guard let r = try? RedoLogReader(path: path), Int(r.header.incarnation) == c.incarnation else { continue }
                found.append((r.header.sequence, path))
                break
            }
        }
        return found.sorted { $0.sequence < $1.sequence }.map(\.path)
    }
}
